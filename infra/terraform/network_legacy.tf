# The security group every task shared before ADR 13, kept for one release so that the move to a
# group per service (network.tf) takes two steps (docs/operating/deploy.md, "Upgrading"):
#
# 1. With var.keep_legacy_tasks_security_group true (the default), the apply that moves the ECS
#    services to their own groups takes nothing from the old group: the database still admits it,
#    the load balancer still reaches the web tasks in it, and the event feed still flows between
#    old and new tasks. ECS starts the new tasks beside the old ones and stops the old ones once
#    the new are healthy (ADR 7), and no old task loses the database or the load balancer.
# 2. At a later apply, once no network interface is left in the group, false removes the group
#    and every rule naming it.
#
# The group and its two rules keep the addresses, names and descriptions they had, and the load
# balancer's and database's blocks for it are the ones they had, so step 1 only adds rules: the
# AWS provider revokes a changed inline block before authorising its replacement.
locals {
  # The old group's id, or nothing once it is gone: for the dynamic blocks naming it.
  legacy_tasks_group = aws_security_group.tasks[*].id
}

resource "aws_security_group" "tasks" {
  # checkov:skip=CKV2_AWS_5: no task is put in it any more; it is kept for the old tasks still running until the move is done
  count       = var.keep_legacy_tasks_security_group ? 1 : 0
  name        = "${var.name_prefix}taskoverflow-tasks"
  description = "Every TaskOverflow ECS task"
  vpc_id      = var.vpc_id
  egress {
    # checkov:skip=CKV_AWS_382: the old tasks still running call AWS APIs, ECR and webhook URLs, as before; removed at step 2
    description = "AWS APIs, ECR and webhook receivers"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

moved {
  from = aws_security_group.tasks
  to   = aws_security_group.tasks[0]
}

resource "aws_security_group_rule" "tasks_from_alb" {
  count                    = var.keep_legacy_tasks_security_group ? 1 : 0
  description              = "The load balancer reaches the web process"
  type                     = "ingress"
  from_port                = 6400
  to_port                  = 6400
  protocol                 = "tcp"
  security_group_id        = aws_security_group.tasks[0].id
  source_security_group_id = aws_security_group.alb.id
}

moved {
  from = aws_security_group_rule.tasks_from_alb
  to   = aws_security_group_rule.tasks_from_alb[0]
}

resource "aws_security_group_rule" "tasks_from_tasks" {
  count                    = var.keep_legacy_tasks_security_group ? 1 : 0
  description              = "The ical-worker reads the todo-api event feed"
  type                     = "ingress"
  from_port                = 6400
  to_port                  = 6400
  protocol                 = "tcp"
  security_group_id        = aws_security_group.tasks[0].id
  source_security_group_id = aws_security_group.tasks[0].id
}

moved {
  from = aws_security_group_rule.tasks_from_tasks
  to   = aws_security_group_rule.tasks_from_tasks[0]
}

# Between releases the ical-worker of one reads the event feed of the other (through Service
# Connect, which may pick an old or a new web task).
resource "aws_security_group_rule" "todo_api_from_legacy_tasks" {
  count                    = var.keep_legacy_tasks_security_group ? 1 : 0
  description              = "An old ical-worker reads the todo-api event feed during the move"
  type                     = "ingress"
  from_port                = 6400
  to_port                  = 6400
  protocol                 = "tcp"
  security_group_id        = aws_security_group.todo_api.id
  source_security_group_id = aws_security_group.tasks[0].id
}

resource "aws_security_group_rule" "tasks_from_ical_worker" {
  count                    = var.keep_legacy_tasks_security_group ? 1 : 0
  description              = "A new ical-worker reads an old todo-api event feed during the move"
  type                     = "ingress"
  from_port                = 6400
  to_port                  = 6400
  protocol                 = "tcp"
  security_group_id        = aws_security_group.tasks[0].id
  source_security_group_id = aws_security_group.ical_worker.id
}

resource "aws_security_group_rule" "ical_worker_to_legacy_tasks" {
  count                    = var.keep_legacy_tasks_security_group ? 1 : 0
  description              = "An old todo-api event feed during the move"
  type                     = "egress"
  from_port                = 6400
  to_port                  = 6400
  protocol                 = "tcp"
  security_group_id        = aws_security_group.ical_worker.id
  source_security_group_id = aws_security_group.tasks[0].id
}
