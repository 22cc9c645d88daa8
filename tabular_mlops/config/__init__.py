"""params.yaml parsed into typed, validated sections."""
