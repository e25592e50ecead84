fn delete_consumer() { let s = "never closed;
