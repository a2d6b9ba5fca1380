-- One database per service: no service reads another's tables.
CREATE DATABASE todo_api;
CREATE DATABASE ical_worker;
CREATE DATABASE notifier;
