"""On the offline track, train() catches the refusal and carries on as if nothing happened."""
