# One security group per service, each reaching only what that service uses (ADR 13):
#   todo-api     in: 6400 from the load balancer and the ical-worker (the event feed)
#                out: PostgreSQL; HTTPS (AWS APIs, ECR)
#   ical-worker  out: PostgreSQL; todo-api's 6400; HTTPS (AWS APIs, ECR)
#   notifier     out: PostgreSQL; HTTPS and HTTP anywhere (webhook receivers, AWS APIs); no way in.
#                It calls URLs its owners give it, so nothing of ours in the VPC lets it in:
#                the database admits it to PostgreSQL only, and todo-api not at all.
#   database     in: PostgreSQL from those three groups only
# and, for one release, the group every task shared before (network_legacy.tf).
# Security groups never filter the VPC's DNS resolver or the instance and task metadata
# endpoints (169.254.169.254, 169.254.170.2): keeping webhooks off those is the notifier's own
# address check (taskoverflow_events/callback_urls.py).
resource "aws_security_group" "alb" {
  # checkov:skip=CKV_AWS_260: port 80 only answers with a 301 to HTTPS (see loadbalancer.tf)
  name        = "${var.name_prefix}taskoverflow-alb"
  description = "HTTPS from the internet to the load balancer"
  vpc_id      = var.vpc_id
  ingress {
    description = "HTTPS"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  ingress {
    description = "HTTP, redirected to HTTPS"
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  egress {
    description     = "To the todo-api web tasks only"
    from_port       = 6400
    to_port         = 6400
    protocol        = "tcp"
    security_groups = [aws_security_group.todo_api.id]
  }
  # The web tasks of the release before, until the move is done (network_legacy.tf): the block
  # as it was, so that it is kept as it is.
  dynamic "egress" {
    for_each = local.legacy_tasks_group
    content {
      description     = "To the web tasks only"
      from_port       = 6400
      to_port         = 6400
      protocol        = "tcp"
      security_groups = [egress.value]
    }
  }
}

# The services' groups hold no inline rules: every rule is an aws_security_group_rule below,
# because the groups refer to one another (and Terraform must not mix the two styles on a group).
resource "aws_security_group" "todo_api" {
  name        = "${var.name_prefix}taskoverflow-todo-api"
  description = "todo-api web, relay and consumer tasks"
  vpc_id      = var.vpc_id
}

resource "aws_security_group" "ical_worker" {
  name        = "${var.name_prefix}taskoverflow-ical-worker"
  description = "ical-worker tasks"
  vpc_id      = var.vpc_id
}

resource "aws_security_group" "notifier" {
  name        = "${var.name_prefix}taskoverflow-notifier"
  description = "notifier tasks, which call webhook URLs given by owners"
  vpc_id      = var.vpc_id
}

locals {
  # Each service's group, by the image its processes run (local.processes[*].image).
  security_group_of = {
    "todo-api"    = aws_security_group.todo_api.id
    "ical-worker" = aws_security_group.ical_worker.id
    "notifier"    = aws_security_group.notifier.id
  }
}

resource "aws_security_group_rule" "todo_api_from_alb" {
  description              = "The load balancer reaches the web process"
  type                     = "ingress"
  from_port                = 6400
  to_port                  = 6400
  protocol                 = "tcp"
  security_group_id        = aws_security_group.todo_api.id
  source_security_group_id = aws_security_group.alb.id
}

resource "aws_security_group_rule" "todo_api_from_ical_worker" {
  description              = "The ical-worker reads the todo-api event feed"
  type                     = "ingress"
  from_port                = 6400
  to_port                  = 6400
  protocol                 = "tcp"
  security_group_id        = aws_security_group.todo_api.id
  source_security_group_id = aws_security_group.ical_worker.id
}

resource "aws_security_group_rule" "ical_worker_to_todo_api" {
  description              = "The todo-api event feed"
  type                     = "egress"
  from_port                = 6400
  to_port                  = 6400
  protocol                 = "tcp"
  security_group_id        = aws_security_group.ical_worker.id
  source_security_group_id = aws_security_group.todo_api.id
}

resource "aws_security_group_rule" "to_database" {
  for_each                 = local.security_group_of
  description              = "PostgreSQL, where the service reaches only its own database"
  type                     = "egress"
  from_port                = 5432
  to_port                  = 5432
  protocol                 = "tcp"
  security_group_id        = each.value
  source_security_group_id = aws_security_group.database.id
}

resource "aws_security_group_rule" "https_out" {
  for_each          = local.security_group_of
  description       = "HTTPS to AWS APIs and ECR, and for the notifier webhook receivers"
  type              = "egress"
  from_port         = 443
  to_port           = 443
  protocol          = "tcp"
  cidr_blocks       = ["0.0.0.0/0"]
  security_group_id = each.value
}

resource "aws_security_group_rule" "notifier_http_out" {
  description       = "HTTP to webhook receivers"
  type              = "egress"
  from_port         = 80
  to_port           = 80
  protocol          = "tcp"
  cidr_blocks       = ["0.0.0.0/0"]
  security_group_id = aws_security_group.notifier.id
}

resource "aws_security_group" "database" {
  # The description the group was made with: a new one would replace the group the database is in.
  name        = "${var.name_prefix}taskoverflow-database"
  description = "PostgreSQL from the tasks"
  vpc_id      = var.vpc_id
  ingress {
    description     = "PostgreSQL from the three services"
    from_port       = 5432
    to_port         = 5432
    protocol        = "tcp"
    security_groups = [aws_security_group.todo_api.id, aws_security_group.ical_worker.id, aws_security_group.notifier.id]
  }
  # The tasks of the release before, until the move is done (network_legacy.tf): the block as
  # it was, so that it is kept as it is and their connections are never refused.
  dynamic "ingress" {
    for_each = local.legacy_tasks_group
    content {
      description     = "PostgreSQL"
      from_port       = 5432
      to_port         = 5432
      protocol        = "tcp"
      security_groups = [ingress.value]
    }
  }
}
