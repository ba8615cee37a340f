variable "region" {
  type    = string
  default = "eu-north-1"
}

variable "environment" {
  description = "production, staging, or pr-<number> for a pull request's preview environment"
  type        = string
}

variable "image_tag" {
  description = "The image tag to run (the git commit the pipeline built)"
  type        = string
}

variable "domain_name" {
  description = "The host name clients use, e.g. api.bank.example or pr-42.preview.bank.example"
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate for domain_name"
  type        = string
}

variable "vpc_cidr" {
  type    = string
  default = "10.20.0.0/16"
}

variable "app_count" {
  description = "Tasks behind the load balancer (autoscaling moves between this and app_max_count)"
  type        = number
  default     = 2
}

variable "app_max_count" {
  type    = number
  default = 8
}

variable "app_cpu" {
  type    = number
  default = 1024
}

variable "app_memory" {
  type    = number
  default = 2048
}

variable "db_instance_class" {
  type    = string
  default = "db.m6g.large"
}

variable "db_allocated_storage" {
  type    = number
  default = 100
}

variable "bank_timezone" {
  type    = string
  default = "Europe/Helsinki"
}

variable "alarm_email" {
  description = "Where CloudWatch alarms are sent"
  type        = string
}
