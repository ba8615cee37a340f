# The AWS deployment of the ledger portal (docs/deploy-aws.md). One state per environment:
#   terraform init -backend-config=env/production.backend.hcl
#   terraform apply -var-file=env/production.tfvars
terraform {
  required_version = ">= 1.6"
  required_providers {
    aws    = { source = "hashicorp/aws", version = "~> 5.70" }
    random = { source = "hashicorp/random", version = "~> 3.6" }
  }
  backend "s3" {} # bucket, key and lock table come from -backend-config per environment
}

provider "aws" {
  region = var.region
  default_tags {
    tags = { Application = "ledger-portal", Environment = var.environment, ManagedBy = "terraform" }
  }
}

data "aws_availability_zones" "available" { state = "available" }
data "aws_caller_identity" "current" {}

locals {
  name = "ledger-${var.environment}"
  azs  = slice(data.aws_availability_zones.available.names, 0, 2)
  # Preview environments (one per pull request) are small and disposable; production is neither.
  preview = var.environment != "production" && var.environment != "staging"
}
