# PostgreSQL on RDS: Multi-AZ (synchronous standby, automatic failover), encrypted, 14 days of automated
# backups with point-in-time recovery to any second in that window, and a final snapshot on deletion.
resource "aws_db_subnet_group" "main" {
  name       = local.name
  subnet_ids = aws_subnet.private[*].id
}

resource "aws_db_parameter_group" "main" {
  name   = local.name
  family = "postgres15"
  parameter {
    name  = "log_min_duration_statement"
    value = "500" # log statements slower than 500 ms
  }
  parameter {
    name  = "idle_in_transaction_session_timeout"
    value = "60000"
  }
}

resource "aws_db_instance" "main" {
  identifier                   = local.name
  engine                       = "postgres"
  engine_version               = "15"
  instance_class               = local.preview ? "db.t4g.small" : var.db_instance_class
  allocated_storage            = local.preview ? 20 : var.db_allocated_storage
  max_allocated_storage        = local.preview ? 20 : var.db_allocated_storage * 10
  storage_type                 = "gp3"
  storage_encrypted            = true
  db_name                      = "portal"
  username                     = "portal"
  manage_master_user_password  = true # the password lives in Secrets Manager, rotated by RDS
  db_subnet_group_name         = aws_db_subnet_group.main.name
  vpc_security_group_ids       = [aws_security_group.db.id]
  parameter_group_name         = aws_db_parameter_group.main.name
  multi_az                     = !local.preview
  backup_retention_period      = local.preview ? 1 : 14
  backup_window                = "02:00-03:00"
  maintenance_window           = "sun:03:30-sun:04:30"
  deletion_protection          = !local.preview
  skip_final_snapshot          = local.preview
  final_snapshot_identifier    = local.preview ? null : "${local.name}-final"
  performance_insights_enabled = true
  auto_minor_version_upgrade   = true
  apply_immediately            = local.preview
}

# Balance and history reads can move here when one primary is not enough (docs/deploy-aws.md, "Scaling").
resource "aws_db_instance" "replica" {
  count                      = local.preview ? 0 : 1
  identifier                 = "${local.name}-replica"
  replicate_source_db        = aws_db_instance.main.identifier
  instance_class             = var.db_instance_class
  storage_encrypted          = true
  vpc_security_group_ids     = [aws_security_group.db.id]
  parameter_group_name       = aws_db_parameter_group.main.name
  skip_final_snapshot        = true
  auto_minor_version_upgrade = true
}
