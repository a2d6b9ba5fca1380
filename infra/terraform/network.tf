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
    description     = "To the web tasks only"
    from_port       = 6400
    to_port         = 6400
    protocol        = "tcp"
    security_groups = [aws_security_group.tasks.id]
  }
}

resource "aws_security_group" "tasks" {
  name        = "${var.name_prefix}taskoverflow-tasks"
  description = "Every TaskOverflow ECS task"
  vpc_id      = var.vpc_id
  egress {
    # checkov:skip=CKV_AWS_382: tasks call AWS APIs, ECR and customers' webhook URLs, which have no fixed addresses
    description = "AWS APIs, ECR and webhook receivers"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_security_group_rule" "tasks_from_alb" {
  description              = "The load balancer reaches the web process"
  type                     = "ingress"
  from_port                = 6400
  to_port                  = 6400
  protocol                 = "tcp"
  security_group_id        = aws_security_group.tasks.id
  source_security_group_id = aws_security_group.alb.id
}

resource "aws_security_group_rule" "tasks_from_tasks" {
  description              = "The ical-worker reads todo-api's event feed"
  type                     = "ingress"
  from_port                = 6400
  to_port                  = 6400
  protocol                 = "tcp"
  security_group_id        = aws_security_group.tasks.id
  source_security_group_id = aws_security_group.tasks.id
}

resource "aws_security_group" "database" {
  name        = "${var.name_prefix}taskoverflow-database"
  description = "PostgreSQL from the tasks"
  vpc_id      = var.vpc_id
  ingress {
    description     = "PostgreSQL"
    from_port       = 5432
    to_port         = 5432
    protocol        = "tcp"
    security_groups = [aws_security_group.tasks.id]
  }
}
