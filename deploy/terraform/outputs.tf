output "load_balancer_dns_name" {
  description = "Point domain_name (a CNAME or an alias record) here"
  value       = aws_lb.main.dns_name
}

output "migrate_task_definition" {
  description = "Run once per deploy, before updating the service"
  value       = aws_ecs_task_definition.migrate.arn
}

output "cluster" {
  value = aws_ecs_cluster.main.name
}

output "private_subnets" {
  value = aws_subnet.private[*].id
}

output "app_security_group" {
  value = aws_security_group.app.id
}
