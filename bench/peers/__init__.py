"""The alternatives the construct is measured against: peer stacks, a naive handler, a Node.js app."""
