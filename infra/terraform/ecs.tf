# Every long-running process is its own ECS service on Fargate, from one image per service.
locals {
  ecr = { for name, repo in aws_ecr_repository.service : name => "${repo.repository_url}:${var.image_tag}" }
  database_host = aws_db_instance.this.address
  # Each service logs in as its own role, which alone may connect to its database and logs in
  # with an IAM token (ADR 13): the setup task makes the roles, and each task role may
  # rds-db:connect as its service's role only (iam.tf). The master user is the setup task's.
  database_role = {
    "todo-api"    = "todo_api"
    "ical-worker" = "ical_worker"
    "notifier"    = "notifier"
  }
  database_url = {
    "todo-api"    = "postgresql+psycopg2://${local.database_role["todo-api"]}@${local.database_host}:5432/todo_api?sslmode=require"
    "ical-worker" = "postgresql+psycopg2://${local.database_role["ical-worker"]}@${local.database_host}:5432/ical_worker?sslmode=require"
    "notifier"    = "postgresql+psycopg2://${local.database_role["notifier"]}@${local.database_host}:5432/notifier?sslmode=require"
  }
  common_env = {
    AWS_REGION        = var.region
    TOPOLOGY_PREFIX   = var.name_prefix
    LOG_JSON          = "true"
    LIVENESS_FILE     = "/tmp/alive"
    DATABASE_IAM_AUTH = "true"
  }
  public_url = "https://${aws_lb.web.dns_name}"
  # Where the processes' embedded-metric-format log lines become metrics (taskoverflow_events
  # /metrics.py); one namespace per environment, so alarms never mix two deployments.
  metrics_namespace = var.name_prefix == "" ? "TaskOverflow" : "TaskOverflow/${trimsuffix(var.name_prefix, "-")}"
  # Topics by ARN, so no process needs sns:ListTopics to find them.
  todo_api_env = {
    AUTH_MODE         = "token"
    DATABASE_URL      = local.database_url["todo-api"]
    TODO_EVENTS_TOPIC = aws_sns_topic.this["todo-events.fifo"].arn
    PUBLIC_URL        = local.public_url
    METRICS_NAMESPACE = local.metrics_namespace
  }
  processes = {
    "todo-api-web" = {
      image = "todo-api", command = [], cpu = 512, memory = 1024, desired = 2, stop_timeout = 30
      env   = merge(local.todo_api_env, { HEALTHCHECK_URL = "http://127.0.0.1:6400/health" })
    }
    "todo-api-relay" = {
      # Two: one leads, the other stands by and takes the lease within RELAY_LEASE_SECONDS (ADR 5).
      image = "todo-api", command = ["python", "-m", "todo_api.relay"], cpu = 256, memory = 512, desired = 2, stop_timeout = 30
      env   = merge(local.todo_api_env, { HEALTHCHECK_URL = "" })
    }
    "todo-api-consumer" = {
      image = "todo-api", command = ["python", "-m", "todo_api.consumer"], cpu = 256, memory = 512, desired = 1, stop_timeout = 60
      env   = merge(local.todo_api_env, { HEALTHCHECK_URL = "" })
    }
    "ical-worker" = {
      image = "ical-worker", command = ["python", "-m", "ical_worker.worker"], cpu = 512, memory = 1024, desired = var.worker_min_tasks, stop_timeout = 120
      env = {
        ICAL_WORKER_DATABASE_URL = local.database_url["ical-worker"]
        TODO_API_URL             = "http://todo-api:6400"
        CALENDAR_EVENTS_TOPIC    = aws_sns_topic.this["calendar-events"].arn
      }
    }
    "notifier" = {
      image = "notifier", command = ["python", "-m", "notifier.worker"], cpu = 256, memory = 512, desired = 1, stop_timeout = 120
      env = {
        NOTIFIER_DATABASE_URL = local.database_url["notifier"]
        CALENDAR_EVENTS_TOPIC = aws_sns_topic.this["calendar-events"].arn
        PUBLIC_URL            = local.public_url
      }
    }
  }
}

resource "aws_ecs_cluster" "this" {
  name = "${var.name_prefix}taskoverflow"
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
  service_connect_defaults {
    namespace = aws_service_discovery_http_namespace.this.arn
  }
}

resource "aws_service_discovery_http_namespace" "this" {
  name = "${var.name_prefix}taskoverflow"
}

# The log groups' names depend on no resource, so the key's policy may name them (kms.tf):
# local.processes could not be named there, since it reads the topics the key encrypts.
locals {
  log_group_name = {
    for process in ["todo-api-web", "todo-api-relay", "todo-api-consumer", "ical-worker", "notifier"] :
    process => "/taskoverflow/${var.name_prefix}${process}"
  }
}

resource "aws_cloudwatch_log_group" "process" {
  for_each          = local.processes
  name              = local.log_group_name[each.key]
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.data.arn
}

resource "aws_ecs_task_definition" "process" {
  for_each                 = local.processes
  family                   = "${var.name_prefix}taskoverflow-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = each.value.cpu
  memory                   = each.value.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task[each.key].arn
  volume {
    name = "tmp"
  }
  container_definitions = jsonencode([
    merge(
      {
        name                   = each.key
        image                  = local.ecr[each.value.image]
        essential              = true
        readonlyRootFilesystem = true
        stopTimeout            = each.value.stop_timeout
        environment            = [for k, v in merge(local.common_env, each.value.env) : { name = k, value = v }]
        secrets                = local.process_secrets[each.key]
        mountPoints = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
        healthCheck = {
          command     = ["CMD", "python", "-m", "taskoverflow_events.healthcheck"]
          interval    = 15
          timeout     = 5
          retries     = 3
          startPeriod = 30
        }
        portMappings = each.key == "todo-api-web" ? [{ name = "http", containerPort = 6400, protocol = "tcp" }] : []
        logConfiguration = {
          logDriver = "awslogs"
          options = {
            awslogs-group         = aws_cloudwatch_log_group.process[each.key].name
            awslogs-region        = var.region
            awslogs-stream-prefix = each.key
          }
        }
      },
      length(each.value.command) > 0 ? { command = each.value.command } : {}
    )
  ])
}

resource "aws_ecs_service" "process" {
  for_each               = local.processes
  name                   = each.key
  cluster                = aws_ecs_cluster.this.id
  task_definition        = aws_ecs_task_definition.process[each.key].arn
  desired_count          = each.value.desired
  launch_type            = "FARGATE"
  platform_version       = "LATEST"
  propagate_tags         = "SERVICE"
  enable_execute_command = false
  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [local.security_group_of[each.value.image]]
    assign_public_ip = false
  }
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
  dynamic "load_balancer" {
    for_each = each.key == "todo-api-web" ? [1] : []
    content {
      target_group_arn = aws_lb_target_group.web.arn
      container_name   = each.key
      container_port   = 6400
    }
  }
  service_connect_configuration {
    enabled = true
    dynamic "service" {
      for_each = each.key == "todo-api-web" ? [1] : []
      content {
        port_name      = "http"
        discovery_name = "todo-api"
        client_alias {
          port     = 6400
          dns_name = "todo-api"
        }
      }
    }
  }
  lifecycle {
    ignore_changes = [desired_count] # the worker's desired count belongs to autoscaling
  }
}

# The one-shot setup task (run with `aws ecs run-task` in todo-api's security group, see
# docs/operating/deploy.md): as the master user, create the other services' databases and
# confine each database to its service's role; then, as todo-api's role, migrate todo-api's
# database. It reuses the todo-api image and the relay's task role (which may connect as
# todo-api's role); only this task is given the master password.
resource "aws_ecs_task_definition" "setup" {
  family                   = "${var.name_prefix}taskoverflow-setup"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task["todo-api-relay"].arn
  volume {
    name = "tmp"
  }
  container_definitions = jsonencode([{
    name                   = "setup"
    image                  = local.ecr["todo-api"]
    essential              = true
    readonlyRootFilesystem = true
    command = ["sh", "-c", join(" && ", [
      "taskoverflow-create-databases --admin-user ${aws_db_instance.this.username} ${local.database_url["todo-api"]} ${local.database_url["ical-worker"]} ${local.database_url["notifier"]}",
      "todo-api-migrate",
    ])]
    environment = [for k, v in merge(local.common_env, local.todo_api_env) : { name = k, value = v }]
    secrets = [{
      name      = "DATABASE_PASSWORD"
      valueFrom = "${aws_db_instance.this.master_user_secret[0].secret_arn}:password::"
    }]
    mountPoints = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.process["todo-api-relay"].name
        awslogs-region        = var.region
        awslogs-stream-prefix = "setup"
      }
    }
  }])
}
