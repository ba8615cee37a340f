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
