# One customer-managed key for the project's data at rest: queues' DLQ payloads, the calendar
# bucket, logs, ECR images and the database's Performance Insights.
resource "aws_kms_key" "data" {
  description             = "${var.name_prefix}taskoverflow data at rest"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "data" {
  name          = "alias/${var.name_prefix}taskoverflow"
  target_key_id = aws_kms_key.data.key_id
}

data "aws_iam_policy_document" "kms" {
  # In a key policy, Resource "*" means "this key" and nothing else:
  # checkov:skip=CKV_AWS_111: a key policy's "*" resource is the key itself
  # checkov:skip=CKV_AWS_356: a key policy's "*" resource is the key itself
  # checkov:skip=CKV_AWS_109: the account root administering its own key is the documented default
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
  statement {
    sid       = "ServicesUseTheKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*", "kms:Encrypt", "kms:ReEncrypt*", "kms:DescribeKey"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com", "sqs.amazonaws.com", "cloudwatch.amazonaws.com"]
    }
  }
  # CloudWatch Logs may use the key for this deployment's log groups only: it names the log
  # group in each request's encryption context. Without the condition, any log group in the
  # region, of any account, that named this key could have used it.
  statement {
    sid       = "LogsUseTheKeyForOurLogGroups"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*", "kms:Encrypt", "kms:ReEncrypt*", "kms:DescribeKey"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${var.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values = [
        for name in values(local.log_group_name) :
        "arn:${data.aws_partition.current.partition}:logs:${var.region}:${data.aws_caller_identity.current.account_id}:log-group:${name}"
      ]
    }
  }
}
