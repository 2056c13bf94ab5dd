"""The shell that may know every app: home, docs and problem pages, tabs, onboarding checklist, audit log pages."""
