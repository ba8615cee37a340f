# The audit chain (docs/operations.md, "The audit chain"): the sealer beside the app, and signed checkpoints
# written daily to a bucket nobody can rewrite, not even this account's root, until they expire.

# The sealer: `flask audit seal --follow`, one task of its own. Not a sidecar in the app's tasks: those scale
# out, and every extra sealer would only queue on the chain head's lock (two are safe, one wins each batch).
resource "aws_ecs_task_definition" "sealer" {
  family                   = "${local.name}-sealer"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  container_definitions = jsonencode([{
    name             = "sealer"
    image            = local.image
    essential        = true
    command          = ["flask", "--app", "wsgi", "audit", "seal", "--follow"]
    environment      = local.environment
    secrets          = local.secrets
    logConfiguration = merge(local.log_configuration, { options = merge(local.log_configuration.options, { awslogs-stream-prefix = "sealer" }) })
    stopTimeout      = 10 # SIGTERM: it finishes the batch in hand and exits
  }])
}

resource "aws_ecs_service" "sealer" {
  name            = "sealer"
  cluster         = aws_ecs_cluster.main.id
  task_definition = aws_ecs_task_definition.sealer.arn
  desired_count   = 1
  launch_type     = "FARGATE"
  # A deploy may briefly run the old and the new sealer together: safe, they take turns on the head's lock.
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 200
  network_configuration {
    subnets         = aws_subnet.private[*].id
    security_groups = [aws_security_group.app.id]
  }
}

# Checkpoints: S3 with Object Lock in compliance mode, kept past PCI DSS 10.5.1's 12 months.
resource "aws_s3_bucket" "audit_checkpoints" {
  bucket              = "${local.name}-audit-checkpoints-${data.aws_caller_identity.current.account_id}"
  object_lock_enabled = true
  force_destroy       = local.preview # production's checkpoints outlive a `terraform destroy`
}

resource "aws_s3_bucket_versioning" "audit_checkpoints" {
  bucket = aws_s3_bucket.audit_checkpoints.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_object_lock_configuration" "audit_checkpoints" {
  bucket = aws_s3_bucket.audit_checkpoints.id
  rule {
    default_retention {
      mode = local.preview ? "GOVERNANCE" : "COMPLIANCE"
      days = local.preview ? 1 : 400
    }
  }
}

resource "aws_s3_bucket_public_access_block" "audit_checkpoints" {
  bucket                  = aws_s3_bucket.audit_checkpoints.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "audit_checkpoints" {
  bucket = aws_s3_bucket.audit_checkpoints.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

# The checkpoint task may only add objects to that bucket (no read, no delete: Object Lock refuses those anyway).
resource "aws_iam_role" "audit_checkpoint" {
  name               = "${local.name}-audit-checkpoint"
  assume_role_policy = data.aws_iam_policy_document.ecs_assume.json
}

data "aws_iam_policy_document" "audit_checkpoint_put" {
  statement {
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.audit_checkpoints.arn}/*"]
  }
}

resource "aws_iam_role_policy" "audit_checkpoint_put" {
  name   = "put-checkpoints"
  role   = aws_iam_role.audit_checkpoint.id
  policy = data.aws_iam_policy_document.audit_checkpoint_put.json
}

# Daily: verify the whole chain (an audit.verify event either way; a failure logs the reason and stops here, so
# no checkpoint is taken of a broken chain), then sign a checkpoint; a second container (the AWS CLI image: the
# app's image has no AWS SDK) uploads it once the first has exited 0.
resource "aws_ecs_task_definition" "audit_checkpoint" {
  family                   = "${local.name}-audit-checkpoint"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 512
  memory                   = 1024
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.audit_checkpoint.arn
  volume {
    name = "checkpoint"
  }
  container_definitions = jsonencode([
    {
      name             = "checkpoint"
      image            = local.image
      essential        = false
      command          = ["sh", "-c", "flask --app wsgi audit verify && flask --app wsgi audit checkpoint > /checkpoint/checkpoint.json"]
      environment      = local.environment
      secrets          = local.secrets
      mountPoints      = [{ sourceVolume = "checkpoint", containerPath = "/checkpoint" }]
      user             = "0" # the shared volume is root's; the command only writes one file to it
      logConfiguration = merge(local.log_configuration, { options = merge(local.log_configuration.options, { awslogs-stream-prefix = "audit-checkpoint" }) })
    },
    {
      name             = "upload"
      image            = "public.ecr.aws/aws-cli/aws-cli:2.17.0"
      essential        = true
      dependsOn        = [{ containerName = "checkpoint", condition = "SUCCESS" }]
      entryPoint       = ["sh", "-c"]
      command          = ["aws s3 cp /checkpoint/checkpoint.json s3://${aws_s3_bucket.audit_checkpoints.bucket}/checkpoints/$(date -u +%Y/%m/%d/%H%M%SZ).json"]
      mountPoints      = [{ sourceVolume = "checkpoint", containerPath = "/checkpoint", readOnly = true }]
      logConfiguration = merge(local.log_configuration, { options = merge(local.log_configuration.options, { awslogs-stream-prefix = "audit-checkpoint" }) })
    },
  ])
}

data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "audit_scheduler" {
  name               = "${local.name}-audit-scheduler"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume.json
}

data "aws_iam_policy_document" "audit_scheduler" {
  statement {
    actions   = ["ecs:RunTask"]
    resources = [trimsuffix(aws_ecs_task_definition.audit_checkpoint.arn, ":${aws_ecs_task_definition.audit_checkpoint.revision}")]
  }
  statement {
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.execution.arn, aws_iam_role.audit_checkpoint.arn]
  }
}

resource "aws_iam_role_policy" "audit_scheduler" {
  name   = "run-audit-checkpoint"
  role   = aws_iam_role.audit_scheduler.id
  policy = data.aws_iam_policy_document.audit_scheduler.json
}

resource "aws_scheduler_schedule" "audit_checkpoint" {
  name                = "${local.name}-audit-checkpoint"
  schedule_expression = "cron(30 2 * * ? *)" # daily, 02:30 UTC
  flexible_time_window {
    mode = "OFF"
  }
  target {
    arn      = aws_ecs_cluster.main.arn
    role_arn = aws_iam_role.audit_scheduler.arn
    ecs_parameters {
      task_definition_arn = trimsuffix(aws_ecs_task_definition.audit_checkpoint.arn, ":${aws_ecs_task_definition.audit_checkpoint.revision}")
      launch_type         = "FARGATE"
      network_configuration {
        subnets         = aws_subnet.private[*].id
        security_groups = [aws_security_group.app.id]
      }
    }
  }
}

# A failed verify is logged (level ERROR would count in app_errors); alarm on the checkpoint task's own failure
# too: no new checkpoint for a day means the chain was not proved that day.
resource "aws_cloudwatch_log_metric_filter" "audit_verify_failed" {
  name           = "${local.name}-audit-verify-failed"
  log_group_name = aws_cloudwatch_log_group.app.name
  pattern        = "\"audit verify FAILED\""
  metric_transformation {
    name      = "AuditVerifyFailed"
    namespace = "LedgerPortal/${var.environment}"
    value     = "1"
  }
}

resource "aws_cloudwatch_metric_alarm" "audit_verify_failed" {
  alarm_name          = "${local.name}-audit-verify-failed"
  namespace           = "LedgerPortal/${var.environment}"
  metric_name         = "AuditVerifyFailed"
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
}
