# The application's own secrets. Terraform creates the containers, never the values, so no
# secret sits in the state or the repo: put them once before the first deploy (README, Deploy).
#   service-token:  todo-api's SERVICE_TOKEN, the ical-worker's TODO_API_TOKEN (event feed)
#   webhook-signing-key: the notifier's WEBHOOK_SIGNING_KEY, from which each owner's webhook
#                        secret is derived (ADR 11); the owners CLI reads it when an operator
#                        runs it, no todo-api process is given it
locals {
  app_secrets = {
    "service-token"       = { processes = ["todo-api-web", "ical-worker"], env = { "todo-api-web" = "SERVICE_TOKEN", "ical-worker" = "TODO_API_TOKEN" } }
    "webhook-signing-key" = { processes = ["notifier"], env = { "notifier" = "WEBHOOK_SIGNING_KEY" } }
  }
  # Per process: the environment variables filled from Secrets Manager.
  process_secrets = {
    for process in keys(local.processes) : process => [
      for name, secret in local.app_secrets : {
        name      = secret.env[process]
        valueFrom = aws_secretsmanager_secret.app[name].arn
      } if contains(secret.processes, process)
    ]
  }
}

resource "aws_secretsmanager_secret" "app" {
  # checkov:skip=CKV2_AWS_57: both are shared keys rotated by putting a new value and redeploying; there is no rotation Lambda to run
  for_each                = local.app_secrets
  name                    = "${var.name_prefix}taskoverflow/${each.key}"
  description             = "TaskOverflow ${each.key}; value put by the operator, not by Terraform"
  kms_key_id              = aws_kms_key.data.arn
  recovery_window_in_days = 7
}
