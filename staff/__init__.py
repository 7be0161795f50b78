"""Staff roles (Privacy officer, Marketer, Auditor) and what each may do in the admin."""
