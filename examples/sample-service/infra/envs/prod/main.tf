terraform {
  required_version = ">= 1.6"

  backend "s3" {
    bucket         = "acme-terraform-state"
    key            = "checkout-api/prod.tfstate"
    region         = "eu-west-1"
    dynamodb_table = "terraform-locks"
    encrypt        = true
  }

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.70"
    }
  }
}

provider "aws" {
  region = "eu-west-1"
}

module "service" {
  source        = "../../modules/service"
  name          = "checkout-api"
  environment   = "prod"
  desired_count = 6
}
# Deliberate gap: .terraform.lock.hcl is not committed for prod.
