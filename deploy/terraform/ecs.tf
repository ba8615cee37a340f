# The app on ECS Fargate: stateless tasks running the image, a rolling deploy that rolls itself back, and a
# separate task definition for migrations, run once by the pipeline before the service is updated.
data "aws_ecr_repository" "app" {
  name = "ledger-portal" # shared by every environment; the pipeline pushes one image per commit
}

resource "aws_ecs_cluster" "main" {
  name = local.name
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_cloudwatch_log_group" "app" {
  name              = "/ecs/${local.name}"
  retention_in_days = local.preview ? 7 : 400 # JSON lines; audit rows live in the database, not here
}

data "aws_iam_policy_document" "ecs_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${local.name}-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_assume.json
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

data "aws_iam_policy_document" "read_secrets" {
  statement {
    actions = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.secret_key.arn, aws_secretsmanager_secret.audit_checkpoint_key.arn,
    aws_db_instance.main.master_user_secret[0].secret_arn]
  }
}

resource "aws_iam_role_policy" "read_secrets" {
  name   = "read-secrets"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.read_secrets.json
}

resource "aws_iam_role" "task" {
  name               = "${local.name}-task" # the app itself calls no AWS API
  assume_role_policy = data.aws_iam_policy_document.ecs_assume.json
}

locals {
  image = "${data.aws_ecr_repository.app.repository_url}:${var.image_tag}"
  environment = [
    { name = "PORTAL_ENV", value = "production" },
    { name = "BANK_TIMEZONE", value = var.bank_timezone },
    { name = "DATABASE_HOST", value = aws_db_instance.main.address },
    { name = "DATABASE_NAME", value = aws_db_instance.main.db_name },
    { name = "DATABASE_USER", value = aws_db_instance.main.username },
    { name = "RATELIMIT_STORAGE_URI", value = "rediss://${aws_elasticache_replication_group.main.primary_endpoint_address}:6379/0" },
    { name = "TRUSTED_PROXIES", value = "1" },     # the ALB sets X-Forwarded-For/-Proto
    { name = "FORWARDED_ALLOW_IPS", value = "*" }, # only the ALB's security group can reach the task
    { name = "WEB_CONCURRENCY", value = tostring(var.app_cpu / 256 + 1) },
    { name = "LOG_LEVEL", value = "INFO" },
  ]
  secrets = [
    { name = "SECRET_KEY", valueFrom = aws_secretsmanager_secret.secret_key.arn },
    { name = "AUDIT_CHECKPOINT_KEY", valueFrom = aws_secretsmanager_secret.audit_checkpoint_key.arn },
    { name = "DATABASE_PASSWORD", valueFrom = "${aws_db_instance.main.master_user_secret[0].secret_arn}:password::" },
  ]
  log_configuration = {
    logDriver = "awslogs"
    options = {
      awslogs-group         = aws_cloudwatch_log_group.app.name
      awslogs-region        = var.region
      awslogs-stream-prefix = "app"
    }
  }
}

resource "aws_ecs_task_definition" "app" {
  family                   = "${local.name}-app"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.app_cpu
  memory                   = var.app_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  container_definitions = jsonencode([{
    name                   = "app"
    image                  = local.image
    essential              = true
    readonlyRootFilesystem = false
    portMappings           = [{ containerPort = 8000, protocol = "tcp" }]
    environment            = local.environment
    secrets                = local.secrets
    logConfiguration       = local.log_configuration
    stopTimeout            = 35 # gunicorn's graceful_timeout, plus a little
  }])
}

# `aws ecs run-task --task-definition <this> …` from the pipeline, before updating the service.
resource "aws_ecs_task_definition" "migrate" {
  family                   = "${local.name}-migrate"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  container_definitions = jsonencode([{
    name             = "migrate"
    image            = local.image
    essential        = true
    command          = ["flask", "--app", "wsgi", "db", "upgrade"]
    environment      = local.environment
    secrets          = local.secrets
    logConfiguration = local.log_configuration
  }])
}

resource "aws_ecs_service" "app" {
  name                              = "app"
  cluster                           = aws_ecs_cluster.main.id
  task_definition                   = aws_ecs_task_definition.app.arn
  desired_count                     = local.preview ? 1 : var.app_count
  launch_type                       = "FARGATE"
  health_check_grace_period_seconds = 30
  # Rolling deploy: new tasks start and pass /readyz before old ones drain; a deploy whose tasks keep
  # failing is stopped and rolled back to the last good task definition.
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
  network_configuration {
    subnets         = aws_subnet.private[*].id
    security_groups = [aws_security_group.app.id]
  }
  load_balancer {
    target_group_arn = aws_lb_target_group.app.arn
    container_name   = "app"
    container_port   = 8000
  }
  depends_on = [aws_lb_listener.https]
  lifecycle {
    ignore_changes = [desired_count] # autoscaling owns it
  }
}

resource "aws_appautoscaling_target" "app" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.app.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = local.preview ? 1 : var.app_count
  max_capacity       = local.preview ? 1 : var.app_max_count
}

resource "aws_appautoscaling_policy" "cpu" {
  name               = "${local.name}-cpu"
  service_namespace  = aws_appautoscaling_target.app.service_namespace
  resource_id        = aws_appautoscaling_target.app.resource_id
  scalable_dimension = aws_appautoscaling_target.app.scalable_dimension
  policy_type        = "TargetTrackingScaling"
  target_tracking_scaling_policy_configuration {
    target_value = 60
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}
