# The roles .github/workflows/deploy.yml assumes with GitHub's OIDC token, so that no AWS key is
# stored in GitHub: one pushes the three images, the other reads what `terraform plan` needs.
# Both trust only workflow runs of var.github_repository on var.github_deploy_branch. Nothing
# here is created while var.github_repository is empty (docs/operating/deploy.md).
locals {
  github_actions  = var.github_repository == "" ? 0 : 1
  github_oidc_url = "token.actions.githubusercontent.com"
  # The token's sub claim for a push to the branch: "repo:OWNER/NAME:ref:refs/heads/main".
  github_subject = "repo:${var.github_repository}:ref:refs/heads/${var.github_deploy_branch}"
  github_oidc_provider_arn = (
    var.github_oidc_provider_arn != "" ? var.github_oidc_provider_arn : one(aws_iam_openid_connect_provider.github[*].arn)
  )
}

# An account has one provider per URL: pass var.github_oidc_provider_arn if it already has one.
resource "aws_iam_openid_connect_provider" "github" {
  count          = var.github_oidc_provider_arn == "" ? local.github_actions : 0
  url            = "https://${local.github_oidc_url}"
  client_id_list = ["sts.amazonaws.com"]
  # IAM trusts GitHub's certificate through its own CA library and ignores these; the older
  # 5.x provider versions that "~> 5.60" admits still require the argument.
  thumbprint_list = ["6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd"]
}

data "aws_iam_policy_document" "github_assume" {
  count = local.github_actions
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [local.github_oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.github_oidc_url}:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.github_oidc_url}:sub"
      values   = [local.github_subject]
    }
  }
}

resource "aws_iam_role" "github_deploy" {
  count              = local.github_actions
  name               = "${var.name_prefix}taskoverflow-github-deploy"
  description        = "Assumed by ${local.github_subject} to push the service images to ECR"
  assume_role_policy = data.aws_iam_policy_document.github_assume[0].json
}

data "aws_iam_policy_document" "github_deploy" {
  statement {
    # GetAuthorizationToken acts on the registry, not on a repository: it takes no narrower resource.
    sid       = "LogInToTheRegistry"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }
  statement {
    sid = "PushTheServiceImages"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:InitiateLayerUpload",
      "ecr:UploadLayerPart",
      "ecr:CompleteLayerUpload",
      "ecr:PutImage",
      "ecr:BatchGetImage",
      "ecr:DescribeImages",
    ]
    resources = [for repo in aws_ecr_repository.service : repo.arn]
  }
}

resource "aws_iam_role_policy" "github_deploy" {
  count  = local.github_actions
  name   = "push-images"
  role   = aws_iam_role.github_deploy[0].id
  policy = data.aws_iam_policy_document.github_deploy.json
}

resource "aws_iam_role" "github_plan" {
  count              = local.github_actions
  name               = "${var.name_prefix}taskoverflow-github-plan"
  description        = "Assumed by ${local.github_subject} to run terraform plan, read-only"
  assume_role_policy = data.aws_iam_policy_document.github_assume[0].json
}

# terraform plan reads every kind of resource this configuration declares (and a state in S3,
# if there is one): the AWS managed read-only policy covers them all.
resource "aws_iam_role_policy_attachment" "github_plan" {
  count      = local.github_actions
  role       = aws_iam_role.github_plan[0].name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/ReadOnlyAccess"
}

# ReadOnlyAccess also reads data (S3 objects, queue messages) that a plan never needs: the
# owners' calendars and the messages in flight stay out of its reach, as do the secrets' values.
data "aws_iam_policy_document" "github_plan_no_data" {
  statement {
    sid     = "NoCalendarsNoMessagesNoSecrets"
    effect  = "Deny"
    actions = ["s3:GetObject", "s3:GetObjectVersion", "sqs:ReceiveMessage", "secretsmanager:GetSecretValue", "kms:Decrypt"]
    resources = concat(
      local.calendar_objects,
      [for q in aws_sqs_queue.this : q.arn],
      [for q in aws_sqs_queue.dlq : q.arn],
      [for q in aws_sqs_queue.subscription_dlq : q.arn],
      [for secret in aws_secretsmanager_secret.app : secret.arn],
      [aws_db_instance.this.master_user_secret[0].secret_arn, aws_kms_key.data.arn],
    )
  }
}

resource "aws_iam_role_policy" "github_plan_no_data" {
  count  = local.github_actions
  name   = "no-data"
  role   = aws_iam_role.github_plan[0].id
  policy = data.aws_iam_policy_document.github_plan_no_data.json
}
