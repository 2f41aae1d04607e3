"""E-mail notifications (issue 8). The entry point for other apps is `clausier.notifications.delivery.notify`;
the periodic ones are sent by `clausier notify-due` (`clausier.notifications.periodic`)."""
