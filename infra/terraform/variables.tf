variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "us-east-1"
}

variable "name_prefix" {
  description = "Prefix on every resource name (one environment per prefix), e.g. \"prod-\". Matches TOPOLOGY_PREFIX."
  type        = string
  default     = "prod-"
}

variable "vpc_id" {
  description = "VPC to run in."
  type        = string
}

variable "public_subnet_ids" {
  description = "Subnets for the load balancer (at least two availability zones)."
  type        = list(string)
}

variable "private_subnet_ids" {
  description = "Subnets for the ECS tasks and the database (at least two availability zones)."
  type        = list(string)
}

variable "certificate_arn" {
  description = "ACM certificate for the HTTPS listener of the load balancer."
  type        = string
}

variable "image_tag" {
  description = "Tag of the todo-api, ical-worker and notifier images in their ECR repositories."
  type        = string
  default     = "latest-release"
}

variable "db_instance_class" {
  description = "RDS instance class for the PostgreSQL instance."
  type        = string
  default     = "db.t4g.small"
}

variable "db_allocated_storage_gb" {
  description = "Initial RDS storage in GiB (it autoscales up to ten times this)."
  type        = number
  default     = 20
}

variable "calendar_retention_days" {
  description = "Days a job's rendered calendar (calendars/) stays in S3; defaults to the topology file's expire_after_days. Live feeds (feeds/) never expire."
  type        = number
  default     = null
}

variable "worker_min_tasks" {
  description = "Fewest ical-worker tasks."
  type        = number
  default     = 1
}

variable "worker_max_tasks" {
  description = "Most ical-worker tasks the backlog may scale to."
  type        = number
  default     = 6
}

variable "worker_backlog_per_task" {
  description = "Target visible messages per ical-worker task for autoscaling."
  type        = number
  default     = 100
}

variable "alarm_topic_arn" {
  description = "SNS topic that receives CloudWatch alarm notifications (empty: alarms only)."
  type        = string
  default     = ""
}

variable "waf_web_acl_arn" {
  description = "WAFv2 web ACL to associate with the load balancer."
  type        = string
}

variable "log_retention_days" {
  description = "CloudWatch Logs retention for every process."
  type        = number
  default     = 365
}

variable "message_max_bytes" {
  description = "The largest message every queue accepts. The topics keep SNS's default MaximumMessageSize (262,144 bytes); a queue must accept at least what its topic may send, or raw delivery of a larger message fails into the subscription's delivery DLQ. Raise both together."
  type        = number
  default     = 262144
}

variable "github_repository" {
  description = "The GitHub repository whose deploy workflow may assume the deploy and plan roles, as its OIDC token's sub claim spells it: \"OWNER/NAME\", or \"OWNER@ORG_ID/NAME@REPO_ID\" where the repository emits immutable subject claims. Empty: no OIDC provider and no roles for GitHub Actions."
  type        = string
  default     = ""
  validation {
    condition     = var.github_repository == "" || can(regex("^[^/:*]+/[^/:*]+$", var.github_repository))
    error_message = "github_repository is OWNER/NAME (no wildcards), or empty."
  }
}

variable "github_deploy_branch" {
  description = "The only branch whose workflow runs may assume the GitHub Actions roles."
  type        = string
  default     = "main"
}

variable "github_oidc_provider_arn" {
  description = "ARN of the account's existing IAM OIDC provider for token.actions.githubusercontent.com (an account has at most one). Empty: Terraform creates it."
  type        = string
  default     = ""
}

variable "keep_legacy_tasks_security_group" {
  description = "Keep the security group every task shared before ADR 13 (taskoverflow-tasks), with the database's and the load balancer's rules for it, so that the tasks of the release before keep the database and the load balancer while ECS replaces them. true for the apply that moves the services to a group each; false once no network interface is left in it (docs/operating/deploy.md, Upgrading). A deployment that never had the group may set false from the start."
  type        = bool
  default     = true
}

variable "calendar_requests_on_changes_queue" {
  description = "Keep routing CalendarRequested to the ical-worker's changes queue as well as to its own (ADR 14). true for the first apply that upgrades a deployment made before ADR 14, so that no request matches no subscription while the new one is created; false (narrowing the filter) in the apply after (docs/operating/deploy.md, Upgrading). A request that reaches both queues is rendered once."
  type        = bool
  default     = false
}
