"""Scripts that drive the emulator with real clients (the AWS CLI, the AWS SDK for JavaScript)."""
