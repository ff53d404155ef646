"""Organizations, people, their roles and certifications, and registered agents."""
