"""The service's routers: search, records and files, admin (writes), health and metrics."""
