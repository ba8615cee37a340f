# ElastiCache Redis: the rate-limit counters shared by every app task (RATELIMIT_STORAGE_URI).
resource "aws_elasticache_subnet_group" "main" {
  name       = local.name
  subnet_ids = aws_subnet.private[*].id
}

resource "aws_elasticache_replication_group" "main" {
  replication_group_id       = local.name
  description                = "Rate limits for ${local.name}"
  engine                     = "redis"
  engine_version             = "7.1"
  node_type                  = "cache.t4g.small"
  num_cache_clusters         = local.preview ? 1 : 2
  automatic_failover_enabled = !local.preview
  multi_az_enabled           = !local.preview
  subnet_group_name          = aws_elasticache_subnet_group.main.name
  security_group_ids         = [aws_security_group.redis.id]
  at_rest_encryption_enabled = true
  transit_encryption_enabled = true
}
