# Topics, queues, dead-letter queues and subscriptions, all from ../topology.yaml: the local
# bootstrap reads the same file, so a topic, queue or subscription is declared in one place only.
locals {
  topology = yamldecode(file("${path.module}/../topology.yaml"))
  topics   = { for t in local.topology.topics : t.name => t }
  queues   = { for q in local.topology.queues : q.name => q }
  subscriptions = {
    for s in local.topology.subscriptions : "${s.topic}->${s.queue}" => s
  }
  # Which topics may send to each queue (its queue policy admits exactly these).
  queue_sources = {
    for q in local.topology.queues : q.name => [
      for s in local.topology.subscriptions : s.topic if s.queue == q.name
    ]
  }
}

resource "aws_sns_topic" "this" {
  for_each                    = local.topics
  name                        = "${var.name_prefix}${each.key}"
  fifo_topic                  = each.value.fifo
  content_based_deduplication = false
  kms_master_key_id           = aws_kms_key.data.arn
}

resource "aws_sqs_queue" "dlq" {
  for_each                  = local.queues
  name                      = "${var.name_prefix}${each.value.dead_letter_queue}"
  fifo_queue                = each.value.fifo
  message_retention_seconds = 1209600
  max_message_size          = var.message_max_bytes
  kms_master_key_id         = aws_kms_key.data.arn
}

resource "aws_sqs_queue" "this" {
  for_each                   = local.queues
  name                       = "${var.name_prefix}${each.key}"
  fifo_queue                 = each.value.fifo
  visibility_timeout_seconds = each.value.visibility_timeout
  receive_wait_time_seconds  = 10
  max_message_size           = var.message_max_bytes
  kms_master_key_id          = aws_kms_key.data.arn
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq[each.key].arn
    maxReceiveCount     = each.value.max_receive_count
  })
}

# SNS's own retries exhausted (say, a queue policy mistake): the message lands here, not nowhere.
resource "aws_sqs_queue" "subscription_dlq" {
  for_each                  = local.subscriptions
  name                      = "${var.name_prefix}${trimsuffix(each.value.queue, ".fifo")}-delivery-dlq${local.topics[each.value.topic].fifo ? ".fifo" : ""}"
  fifo_queue                = local.topics[each.value.topic].fifo
  message_retention_seconds = 1209600
  max_message_size          = var.message_max_bytes
  kms_master_key_id         = aws_kms_key.data.arn
}

resource "aws_sns_topic_subscription" "this" {
  for_each             = local.subscriptions
  topic_arn            = aws_sns_topic.this[each.value.topic].arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.this[each.value.queue].arn
  raw_message_delivery = each.value.raw_message_delivery
  filter_policy_scope  = "MessageAttributes"
  # While upgrading from before ADR 14, the changes queue keeps calendar requests for one apply.
  filter_policy = jsonencode({ event_type = concat(
    each.value.event_types,
    var.calendar_requests_on_changes_queue && each.value.queue == "ical-worker-todo-events.fifo" ? ["CalendarRequested"] : [],
  ) })
  redrive_policy       = jsonencode({ deadLetterTargetArn = aws_sqs_queue.subscription_dlq[each.key].arn })
}

# Who may send to which queue: each consuming queue its own topics, each delivery DLQ its
# subscription's topic. One policy shape for both, so they cannot drift apart.
locals {
  sns_senders = merge(
    {
      for name, q in aws_sqs_queue.this : "queue ${name}" => {
        arn = q.arn, url = q.id, topics = local.queue_sources[name]
      }
    },
    {
      for key, q in aws_sqs_queue.subscription_dlq : "delivery ${key}" => {
        arn = q.arn, url = q.id, topics = [local.subscriptions[key].topic]
      }
    },
  )
}

data "aws_iam_policy_document" "sns_may_send" {
  for_each = local.sns_senders
  statement {
    sid       = "OnlyItsOwnTopics"
    actions   = ["sqs:SendMessage"]
    resources = [each.value.arn]
    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [for t in each.value.topics : aws_sns_topic.this[t].arn]
    }
  }
}

resource "aws_sqs_queue_policy" "sns_may_send" {
  for_each  = local.sns_senders
  queue_url = each.value.url
  policy    = data.aws_iam_policy_document.sns_may_send[each.key].json
}
