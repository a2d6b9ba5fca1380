# One task role per process, each allowed only what that process does: publish to its topic,
# consume its own queue (and dead-letter poison into its DLQ), touch only its S3 prefix, log in
# to the database as its service's role.
locals {
  consume = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"]
  queues_of = {
    "todo-api-consumer" = ["todo-api-calendar-events"]
    "ical-worker"       = ["ical-worker-todo-events.fifo", "ical-worker-calendar-requests.fifo"]
    "notifier"          = ["notifier-calendar-events"]
  }
  publishes_to = {
    "todo-api-relay" = "todo-events.fifo"
    "ical-worker"    = "calendar-events"
    "notifier"       = "calendar-events"
  }
  # Job calendars and the live feeds: the two prefixes of the bucket (calendar_keys.py).
  calendar_objects = ["${aws_s3_bucket.calendars.arn}/calendars/*", "${aws_s3_bucket.calendars.arn}/feeds/*"]
}

data "aws_iam_policy_document" "task_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${var.name_prefix}taskoverflow-execution"
  assume_role_policy = data.aws_iam_policy_document.task_assume.json
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

data "aws_iam_policy_document" "execution_secrets" {
  statement {
    sid       = "DatabasePassword"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_db_instance.this.master_user_secret[0].secret_arn]
  }
  statement {
    sid       = "ApplicationSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [for secret in aws_secretsmanager_secret.app : secret.arn]
  }
  statement {
    sid       = "DecryptLogsAndImages"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.data.arn]
  }
}

resource "aws_iam_role_policy" "execution_secrets" {
  name   = "secrets"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution_secrets.json
}

resource "aws_iam_role" "task" {
  for_each           = local.processes
  name               = "${var.name_prefix}taskoverflow-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.task_assume.json
}

data "aws_iam_policy_document" "task" {
  for_each = local.processes

  # The data key encrypts the topics, queues and calendar objects: publishers and the worker
  # writing calendars generate data keys with it, consumers and the web reading calendars decrypt.
  statement {
    sid       = "UseTheDataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.data.arn]
  }

  # Log in to the database as the service's own role, with an IAM token, and as no other role.
  statement {
    sid       = "ConnectAsOwnDatabaseRole"
    actions   = ["rds-db:connect"]
    resources = ["arn:${data.aws_partition.current.partition}:rds-db:${var.region}:${data.aws_caller_identity.current.account_id}:dbuser:${aws_db_instance.this.resource_id}/${local.database_role[each.value.image]}"]
  }

  dynamic "statement" {
    for_each = contains(keys(local.queues_of), each.key) ? [local.queues_of[each.key]] : []
    content {
      sid       = "ConsumeOwnQueues"
      actions   = local.consume
      resources = [for q in statement.value : aws_sqs_queue.this[q].arn]
    }
  }

  dynamic "statement" {
    for_each = contains(keys(local.queues_of), each.key) ? [local.queues_of[each.key]] : []
    content {
      sid       = "DeadLetterPoison"
      actions   = ["sqs:SendMessage", "sqs:GetQueueUrl"]
      resources = [for q in statement.value : aws_sqs_queue.dlq[q].arn]
    }
  }

  dynamic "statement" {
    for_each = contains(keys(local.publishes_to), each.key) ? [local.publishes_to[each.key]] : []
    content {
      sid       = "PublishOwnTopic"
      # GetTopicAttributes: the publisher reads the topic's MaximumMessageSize to cut its batches.
      actions   = ["sns:Publish", "sns:GetTopicAttributes"]
      resources = [aws_sns_topic.this[statement.value].arn]
    }
  }

  dynamic "statement" {
    for_each = each.key == "ical-worker" ? [1] : []
    content {
      sid       = "WriteCalendars"
      actions   = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
      resources = local.calendar_objects
    }
  }

  dynamic "statement" {
    for_each = each.key == "ical-worker" ? [1] : []
    content {
      # The feed sweep lists feeds/ to find a feed object that went missing, and rewrites it.
      sid       = "ListFeeds"
      actions   = ["s3:ListBucket"]
      resources = [aws_s3_bucket.calendars.arn]
      condition {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = ["feeds/*"]
      }
    }
  }

  dynamic "statement" {
    for_each = each.key == "todo-api-web" ? [1] : []
    content {
      sid       = "ReadCalendars"
      actions   = ["s3:GetObject"]
      resources = local.calendar_objects
    }
  }

  dynamic "statement" {
    for_each = each.key == "todo-api-web" ? [1] : []
    content {
      # Without it S3 answers a missing key with AccessDenied, not NoSuchKey, and a feed not yet
      # written could not be told from a refusal (the feed endpoint answers 503 for the first).
      sid       = "TellMissingFromRefused"
      actions   = ["s3:ListBucket"]
      resources = [aws_s3_bucket.calendars.arn]
    }
  }
}

resource "aws_iam_role_policy" "task" {
  for_each = local.processes
  name     = "least-privilege"
  role     = aws_iam_role.task[each.key].id
  policy   = data.aws_iam_policy_document.task[each.key].json
}
