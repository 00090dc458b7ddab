from outtake.notices.models import Notification


def inbox(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_count": Notification.objects.filter(user=user, read_at__isnull=True).count()}
