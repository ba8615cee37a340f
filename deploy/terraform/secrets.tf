# SECRET_KEY is generated once per environment and kept in Secrets Manager; tasks receive it as an
# environment variable at start. Rotating it: docs/operations.md.
resource "random_password" "secret_key" {
  length  = 64
  special = false
}

resource "aws_secretsmanager_secret" "secret_key" {
  name                    = "${local.name}/secret-key"
  recovery_window_in_days = local.preview ? 0 : 30
}

resource "aws_secretsmanager_secret_version" "secret_key" {
  secret_id     = aws_secretsmanager_secret.secret_key.id
  secret_string = random_password.secret_key.result
}

# AUDIT_CHECKPOINT_KEY signs the audit chain's checkpoints (flask audit checkpoint), kept in the checkpoint bucket
# (audit.tf). Generated once per environment; a new key makes older checkpoints unverifiable with it, so keep the
# old value (Secrets Manager keeps versions) for as long as its checkpoints are kept.
resource "random_password" "audit_checkpoint_key" {
  length  = 64
  special = false
}

resource "aws_secretsmanager_secret" "audit_checkpoint_key" {
  name                    = "${local.name}/audit-checkpoint-key"
  recovery_window_in_days = local.preview ? 0 : 30
}

resource "aws_secretsmanager_secret_version" "audit_checkpoint_key" {
  secret_id     = aws_secretsmanager_secret.audit_checkpoint_key.id
  secret_string = random_password.audit_checkpoint_key.result
}
