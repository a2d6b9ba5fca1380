# The ical-worker scales on backlog per task: visible messages in its two queues / running tasks.
resource "aws_appautoscaling_target" "worker" {
  service_namespace  = "ecs"
  scalable_dimension = "ecs:service:DesiredCount"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.process["ical-worker"].name}"
  min_capacity       = var.worker_min_tasks
  max_capacity       = var.worker_max_tasks
}

resource "aws_appautoscaling_policy" "worker_backlog" {
  name               = "${var.name_prefix}ical-worker-backlog-per-task"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.worker.service_namespace
  scalable_dimension = aws_appautoscaling_target.worker.scalable_dimension
  resource_id        = aws_appautoscaling_target.worker.resource_id
  target_tracking_scaling_policy_configuration {
    target_value       = var.worker_backlog_per_task
    scale_in_cooldown  = 120
    scale_out_cooldown = 30
    customized_metric_specification {
      dynamic "metrics" {
        for_each = { changes = "ical-worker-todo-events.fifo", requests = "ical-worker-calendar-requests.fifo" }
        content {
          id          = metrics.key
          return_data = false
          metric_stat {
            stat = "Sum"
            metric {
              namespace   = "AWS/SQS"
              metric_name = "ApproximateNumberOfMessagesVisible"
              dimensions {
                name  = "QueueName"
                value = aws_sqs_queue.this[metrics.value].name
              }
            }
          }
        }
      }
      metrics {
        id          = "tasks"
        return_data = false
        metric_stat {
          stat = "Average"
          metric {
            namespace   = "ECS/ContainerInsights"
            metric_name = "RunningTaskCount"
            dimensions {
              name  = "ClusterName"
              value = aws_ecs_cluster.this.name
            }
            dimensions {
              name  = "ServiceName"
              value = aws_ecs_service.process["ical-worker"].name
            }
          }
        }
      }
      metrics {
        id          = "backlog_per_task"
        label       = "visible messages per running worker task"
        expression  = "(FILL(changes, 0) + FILL(requests, 0)) / MAX([tasks, 1])"
        return_data = true
      }
    }
  }
}

locals {
  alarm_actions = var.alarm_topic_arn == "" ? [] : [var.alarm_topic_arn]
  dead_letter_queues = merge(
    { for name, q in aws_sqs_queue.dlq : "dlq ${name}" => q.name },
    { for name, q in aws_sqs_queue.subscription_dlq : "delivery dlq ${name}" => q.name },
  )
}

resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  for_each            = local.dead_letter_queues
  alarm_name          = "${var.name_prefix}taskoverflow ${each.key} has messages"
  alarm_description   = "A message was dead-lettered: read its dead_letter_reason attribute, fix, then redrive."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "oldest_message" {
  for_each            = aws_sqs_queue.this
  alarm_name          = "${var.name_prefix}taskoverflow ${each.key} is falling behind"
  alarm_description   = "The oldest message has waited over five minutes: consumers are down or too few."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = each.value.name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 3
  threshold           = 300
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}

# The relay's lag, from its embedded-metric-format log lines (todo_api/relay/lag.py). Missing data
# is breaching: only a leading relay reports, so silence means no relay leads or the leader hangs.
resource "aws_cloudwatch_metric_alarm" "outbox_lag" {
  alarm_name          = "${var.name_prefix}taskoverflow outbox is not being published"
  alarm_description   = "An event has waited over a minute to reach SNS, or no relay reports: read the relay's log (a refused event names its owner), check SNS and the relay tasks."
  namespace           = local.metrics_namespace
  metric_name         = "OutboxOldestUnpublishedAge"
  dimensions          = { Service = "todo-api", Process = "relay" }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 3
  threshold           = 60
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_actions
}
