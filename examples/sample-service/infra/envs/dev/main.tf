terraform {
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
  environment   = "dev"
  desired_count = 1
}
