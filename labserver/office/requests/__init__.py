"""The center's side of customers' requests: the incoming requests and the answers."""
