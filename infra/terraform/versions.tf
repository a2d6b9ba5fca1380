terraform {
  required_version = ">= 1.6.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.60"
    }
  }
}

provider "aws" {
  region = var.region
  default_tags {
    tags = {
      Project     = "taskoverflow"
      Environment = var.name_prefix
    }
  }
}

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

# The partition (aws, aws-cn, aws-us-gov) every ARN built here starts with.
data "aws_partition" "current" {}
