output "api_url" {
  description = "The TaskOverflow API (and web UI) behind the load balancer."
  value       = "https://${aws_lb.web.dns_name}"
}

output "queue_urls" {
  description = "Each consuming service's queue, by topology name."
  value       = { for name, q in aws_sqs_queue.this : name => q.url }
}

output "dead_letter_queue_urls" {
  description = "Each queue's dead-letter queue, by topology name of the queue."
  value       = { for name, q in aws_sqs_queue.dlq : name => q.url }
}

output "topic_arns" {
  description = "The SNS topics, by topology name."
  value       = { for name, t in aws_sns_topic.this : name => t.arn }
}

output "calendar_bucket" {
  description = "The private bucket holding rendered calendars."
  value       = aws_s3_bucket.calendars.bucket
}

output "ecr_repositories" {
  description = "Where to push each service's image (tag it with var.image_tag)."
  value       = { for name, repo in aws_ecr_repository.service : name => repo.repository_url }
}

output "database_endpoint" {
  description = "The PostgreSQL endpoint (the master password in Secrets Manager, managed by RDS; the services log in with IAM tokens)."
  value       = aws_db_instance.this.address
}

output "setup_task_definition" {
  description = "Run once after the first apply and after each release: creates databases, migrates."
  value       = aws_ecs_task_definition.setup.arn
}

output "setup_security_group" {
  description = "The security group to run the setup task in: todo-api's, which reaches the database and AWS's APIs."
  value       = aws_security_group.todo_api.id
}

output "legacy_tasks_security_group" {
  description = "The group every task shared before ADR 13, kept while keep_legacy_tasks_security_group is true (null after): no network interface may be left in it before it is removed."
  value       = one(aws_security_group.tasks[*].id)
}

output "cluster_name" {
  description = "The ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "github_deploy_role_arn" {
  description = "The role the deploy workflow's images job assumes: the repository variable AWS_DEPLOY_ROLE_ARN (null while github_repository is empty)."
  value       = one(aws_iam_role.github_deploy[*].arn)
}

output "github_plan_role_arn" {
  description = "The read-only role the deploy workflow's plan job assumes: the repository variable AWS_PLAN_ROLE_ARN (null while github_repository is empty)."
  value       = one(aws_iam_role.github_plan[*].arn)
}
