"""Keep TOTP devices out of Django's admin: it would show any user's secret as a QR code, and
remove a second factor without the audit trail. Users manage their own on the sign-in security
page; the operator resets a lost one with `manage.py reset_second_factor`."""

from django.contrib import admin
from django_otp.plugins.otp_totp.models import TOTPDevice

if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)
