"""Events that start the flows within seconds instead of at their next interval: the stores' webhooks
(received in the API server, recorded in the warehouse inbox) and the ERP change watcher."""
