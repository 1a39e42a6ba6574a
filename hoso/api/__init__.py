"""HTTP API (/api/v1). Thin routers: parse, call a service function, map errors."""
