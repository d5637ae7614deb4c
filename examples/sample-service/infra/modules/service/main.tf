variable "name" {
  type = string
}

variable "environment" {
  type = string
}

variable "desired_count" {
  type    = number
  default = 2
}

resource "aws_ecs_service" "this" {
  name          = "${var.name}-${var.environment}"
  desired_count = var.desired_count

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/ecs/${var.name}-${var.environment}"
  retention_in_days = 30
}
