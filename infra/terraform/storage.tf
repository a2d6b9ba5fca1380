# The calendar bucket: private, encrypted; job calendars expire, live feeds never do (a feed that
# vanished would reach calendar apps as an empty calendar). Only the API serves them.
resource "aws_s3_bucket" "calendars" {
  bucket = "${var.name_prefix}${local.topology.bucket.name}"
  # checkov:skip=CKV_AWS_144: calendars are derived data, re-rendered on demand; a second region adds cost, not safety
  # checkov:skip=CKV_AWS_18: access goes through the API, whose requests are logged; object access logs would duplicate them
  # checkov:skip=CKV2_AWS_62: nothing reacts to new objects; CalendarGenerated on the bus is the notification
}

resource "aws_s3_bucket_public_access_block" "calendars" {
  bucket                  = aws_s3_bucket.calendars.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "calendars" {
  bucket = aws_s3_bucket.calendars.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "calendars" {
  bucket = aws_s3_bucket.calendars.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "calendars" {
  bucket = aws_s3_bucket.calendars.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.data.arn
    }
    bucket_key_enabled = true
  }
}

# Every object is encrypted with the data key by the bucket's default above: the worker sends no
# encryption header of its own (ADR 13). This policy refuses any write that asks for another
# algorithm or another key (as the worker's AES256 header once overrode the default), and any
# request without TLS.
resource "aws_s3_bucket_policy" "calendars" {
  bucket = aws_s3_bucket.calendars.id
  policy = data.aws_iam_policy_document.calendars_bucket.json
}

data "aws_iam_policy_document" "calendars_bucket" {
  statement {
    sid       = "NoOtherEncryption"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.calendars.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Null"
      variable = "s3:x-amz-server-side-encryption"
      values   = ["false"]
    }
    condition {
      test     = "StringNotEquals"
      variable = "s3:x-amz-server-side-encryption"
      values   = ["aws:kms"]
    }
  }
  statement {
    sid       = "NoOtherKey"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.calendars.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Null"
      variable = "s3:x-amz-server-side-encryption-aws-kms-key-id"
      values   = ["false"]
    }
    condition {
      test     = "StringNotEquals"
      variable = "s3:x-amz-server-side-encryption-aws-kms-key-id"
      values   = [aws_kms_key.data.arn]
    }
  }
  statement {
    sid       = "TlsOnly"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.calendars.arn, "${aws_s3_bucket.calendars.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

# Only the job calendars' prefix expires (the topology file's, which its loader holds to
# calendar_keys.JOB_PREFIX); every object, feeds included, sheds replaced versions and unfinished
# uploads after a day. The bootstrap's lifecycle_rules make the same two, less the versions (only
# this bucket keeps them).
resource "aws_s3_bucket_lifecycle_configuration" "calendars" {
  bucket = aws_s3_bucket.calendars.id
  rule {
    id     = "expire-job-calendars"
    status = "Enabled"
    filter {
      prefix = local.topology.bucket.expire_prefix
    }
    expiration {
      days = coalesce(var.calendar_retention_days, local.topology.bucket.expire_after_days)
    }
  }
  rule {
    id     = "tidy-every-object"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

resource "aws_ecr_repository" "service" {
  for_each             = toset(["todo-api", "ical-worker", "notifier"])
  name                 = "${var.name_prefix}taskoverflow/${each.key}"
  image_tag_mutability = "IMMUTABLE"
  image_scanning_configuration {
    scan_on_push = true
  }
  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = aws_kms_key.data.arn
  }
}
