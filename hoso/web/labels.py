"""Vietnamese wording for states, report fields and refusals shown on the web pages (English kept as a second line).

Kept apart from the templates so tests and other pages share one vocabulary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

# Vietnam has no daylight saving time: a fixed +07:00 offset is exact and needs no tz database.
VN = timezone(timedelta(hours=7), "ICT")

REPLICA_STATE = {
    "ok": ("tốt", "good"),
    "missing": ("thiếu", "missing"),
    "corrupt": ("hỏng", "damaged"),
    "unreachable": ("không truy cập được", "unreachable"),
}

VERDICT = {
    "TOTAL_PASSED": ("Hợp lệ", "Valid"),
    "TOTAL_FAILED": ("Không hợp lệ", "Not valid"),
    "INDETERMINATE": ("Chưa xác định", "Indeterminate"),
}

REVOCATION = {
    "good": ("Chưa bị thu hồi (đã kiểm tra CRL/OCSP)", "Not revoked"),
    "revoked": ("Đã bị thu hồi", "Revoked"),
    "unknown": ("Cảnh báo: không có thông tin CRL/OCSP để kiểm tra", "Warning: no CRL/OCSP available"),
}

MODIFICATION = {
    "none": ("Không có thay đổi", "No change"),
    "ltv_updates": ("Chỉ bổ sung dữ liệu kiểm tra dài hạn (được phép)", "Long-term validation data only"),
    "form_filling": ("Điền biểu mẫu (được phép)", "Form filling only"),
    "other": ("Có thay đổi không được phép", "Disallowed changes"),
}

KIND = {
    "signature": ("Chữ ký số", "Signature"),
    "document_timestamp": ("Dấu thời gian tài liệu", "Document timestamp"),
}

# What a school office can do about each refusal of an upload (the service's message says what is wrong).
UPLOAD_HINT = {
    "not_pdf": "Tệp không đọc được như PDF. Hãy xuất lại tệp PDF từ phần mềm quản lý trường rồi tải lên lại.",
    "encrypted_pdf": "Hãy bỏ mật khẩu / mã hóa của tệp PDF rồi tải lên lại.",
    "active_content": "Hãy xuất lại tệp không kèm mã lệnh (JavaScript, macro) hay tệp đính kèm.",
    "too_complex": "Hãy mở tệp bằng phần mềm soạn thảo và xuất lại PDF rồi tải lên lại.",
    "conversion_failed": "Hãy mở tệp bằng Word hoặc LibreOffice, lưu lại (hoặc xuất PDF) rồi tải lên lại.",
    "conversion_unavailable": "Tạm thời hãy xuất tệp sang PDF rồi tải lên; báo quản trị viên cài LibreOffice.",
    "too_large": "Hãy chia nhỏ tệp hoặc giảm độ phân giải bản quét.",
    "unsupported_type": "Chỉ nhận PDF, Word, Excel, OpenDocument hoặc XML.",
    "empty_file": "Tệp không có nội dung; hãy chọn đúng tệp.",
    "locked": "Hồ sơ năm học này đã bị khóa; liên hệ Hiệu trưởng để mở khóa.",
    "unknown_type": "Hãy chọn loại hồ sơ trong danh sách.",
    "school_not_found": "Hãy chọn trường trong danh sách.",
    "invalid_input": "Hãy kiểm tra lại các ô đã nhập.",
    "missing_file": "Hãy chọn tệp cần tải lên.",
}


def pair(table: dict[str, tuple[str, str]], key: Any) -> tuple[str, str]:
    return table.get(str(key), (str(key), str(key)))


def vi(table: dict[str, tuple[str, str]], key: Any) -> str:
    return pair(table, key)[0]


def vn_time(value: Any) -> str:
    """ISO string or datetime → '28/11/2026 09:15 (+07:00)'; naive values are UTC (how the catalog stores them)."""
    if value in (None, ""):
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(VN).strftime("%d/%m/%Y %H:%M:%S (+07:00)")


def vn_date(value: Any) -> str:
    text = vn_time(value)
    return text.split(" ")[0] if text != "—" else text


def size(value: Any) -> str:
    """Bytes in the Vietnamese style: '1,5 MB', '12.345 byte'."""
    if value is None:
        return "—"
    n = int(value)
    if n < 1024:
        return f"{n} byte"
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= factor:
            return f"{n / factor:.1f}".replace(".", ",") + f" {unit}"
    return str(n)  # unreachable; keeps mypy happy


# audit trail actions (the page shows the Vietnamese name; the code stays visible for exports and searches)
EVENT_ACTION = {
    "auth.login": ("Đăng nhập", "Login"),
    "auth.login_failed": ("Đăng nhập sai", "Failed login"),
    "auth.login_throttled": ("Đăng nhập bị tạm khóa", "Login throttled"),
    "auth.logout": ("Đăng xuất", "Logout"),
    "session.revoke": ("Kết thúc phiên đăng nhập", "Session revoked"),
    "access.denied": ("Bị từ chối truy cập", "Access denied"),
    "document.ingest": ("Tiếp nhận hồ sơ", "Upload"),
    "document.download": ("Tải tệp về", "Download"),
    "document.validate": ("Kiểm tra chữ ký số", "Validation"),
    "document.sign": ("Ký số", "Signature"),
    "document.dispose": ("Tiêu hủy hồ sơ", "Disposal"),
    "signing_session.start": ("Mở phiên ký cá nhân", "Signing session opened"),
    "signing_session.rejected": ("Chữ ký bị từ chối", "Signature refused"),
    "signature.lta_renewal": ("Gia hạn dấu thời gian", "LTA renewal"),
    "lock.add": ("Khóa hồ sơ", "Lock"),
    "lock.remove": ("Mở khóa hồ sơ", "Unlock"),
    "totp.enrol": ("Bắt đầu đăng ký xác thực hai lớp", "TOTP enrolment"),
    "totp.enable": ("Bật xác thực hai lớp", "TOTP enabled"),
    "totp.disable": ("Tắt xác thực hai lớp", "TOTP disabled"),
    "user.create": ("Tạo tài khoản", "Account created"),
    "user.password_reset": ("Đặt lại mật khẩu", "Password reset"),
    "user.enable": ("Mở tài khoản", "Account enabled"),
    "user.disable": ("Khóa tài khoản", "Account disabled"),
    "token.create": ("Cấp mã truy cập API", "API token created"),
    "token.revoke": ("Thu hồi mã truy cập API", "API token revoked"),
    "audit.anchor": ("Neo chuỗi nhật ký", "Audit anchor"),
    "fixity.run": ("Kiểm tra toàn vẹn bản sao", "Fixity run"),
    "certificate.added": ("Đăng ký chứng thư số", "Certificate registered"),
    "certificate.removed": ("Gỡ chứng thư số", "Certificate removed"),
    "certificate.refused": ("Từ chối chứng thư số", "Certificate refused"),
    "remote_signing.link": ("Liên kết tài khoản ký từ xa", "Remote-signing account linked"),
    "remote_signing.unlink": ("Hủy liên kết tài khoản ký từ xa", "Remote-signing account unlinked"),
    "remote_signing.sign": ("Ký bằng tài khoản ký từ xa", "Signed with a remote-signing account"),
    "remote_signing.refused": ("Ký từ xa không thành công", "Remote signing refused"),
    "roster.import": ("Nhập phân công giảng dạy", "Roster imported"),
    "roster.homeroom": ("Đặt giáo viên chủ nhiệm", "Homeroom teacher set"),
    "roster.teacher_add": ("Phân công giáo viên bộ môn", "Subject teacher added"),
    "roster.teacher_remove": ("Bỏ phân công giáo viên bộ môn", "Subject teacher removed"),
    "roster.group_head": ("Đặt tổ trưởng chuyên môn", "Group head set"),
    "fixity.check_record": ("Lập biên bản kiểm tra định kỳ", "Check record made"),
    "media.export": ("Ghi hồ sơ ra vật mang tin", "Offline media written"),
    "media.renewal_due": ("Nhắc ghi lại vật mang tin", "Media due for renewal"),
    "transfer.export": ("Chuyển hồ sơ học sinh đi", "Student records sent"),
    "transfer.import": ("Nhận hồ sơ học sinh chuyển đến", "Student records received"),
    "inspection.package": ("Tạo gói hồ sơ kiểm tra", "Inspection package made"),
    "inspection.include": ("Đưa hồ sơ vào gói kiểm tra", "Document put in an inspection package"),
    "inspection.download": ("Tải gói hồ sơ kiểm tra", "Inspection package downloaded"),
    "inspection.email": ("Gửi gói kiểm tra qua e-mail", "Inspection package e-mailed"),
    "chain.open": ("Mở quy trình ký", "Signing chain opened"),
    "chain.step": ("Ký một bước của quy trình", "Signing step done"),
    "chain.return": ("Trả lại hồ sơ cho người tải lên", "Record returned"),
    "chain.edit": ("Sửa quy trình ký của loại hồ sơ", "Signing chain edited"),
    "chain.complete": ("Hoàn tất quy trình ký (B-LTA)", "Signing chain completed (B-LTA)"),
    "fixity.check_record_not_filed": (
        "Không lưu được biên bản kiểm tra vào hồ sơ trường",
        "Check record not filed",
    ),
    "transfer.sender_add": ("Đăng ký trường chuyển đi", "Sending school registered"),
    "transfer.sender_remove": ("Gỡ trường chuyển đi", "Sending school removed"),
    # issue 12: every action the trail holds has a Vietnamese name (tests/unit/test_audit_wording.py checks it)
    "auth.reauth_failed": ("Nhập lại mật khẩu sai", "Re-authentication failed"),
    "auth.reauth_throttled": ("Nhập lại mật khẩu bị tạm khóa", "Re-authentication throttled"),
    "document.edit": ("Sửa thông tin hồ sơ", "Details edited"),
    "document.replace": ("Thay tệp hồ sơ", "File replaced"),
    "document.withdraw": ("Rút hồ sơ", "Record withdrawn"),
    "correction.request": ("Đề nghị chỉnh sửa hồ sơ đã khóa", "Correction requested"),
    "correction.approve": ("Duyệt đề nghị chỉnh sửa", "Correction approved"),
    "correction.refuse": ("Từ chối đề nghị chỉnh sửa", "Correction refused"),
    "correction.apply": (
        "Tải lên phiên bản đã chỉnh sửa (khóa lại)",
        "Corrected version stored, locked again",
    ),
    "correction.record": ("Lập biên bản chỉnh sửa dữ liệu", "Correction record filed"),
    "correction.record_not_filed": (
        "Không lập được biên bản chỉnh sửa dữ liệu",
        "Correction record not filed",
    ),
    "replica.damage": ("Phát hiện bản sao hỏng", "Damaged copy found"),
    "replica.repair": ("Sửa bản sao hỏng", "Copy repaired"),
    "replica.reconcile": ("Đối soát kho lưu trữ", "Store reconciliation"),
    "catalog.export_metadata": ("Xuất siêu dữ liệu", "Metadata export"),
    "catalog.rebuild": ("Dựng lại danh mục", "Catalog rebuilt"),
    "disposal.propose": ("Lập danh sách tiêu hủy", "Disposal proposed"),
    "disposal.approve": ("Phê duyệt tiêu hủy", "Disposal approved"),
    "disposal.cancel": ("Hủy đợt tiêu hủy", "Disposal cancelled"),
    "disposal.execute": ("Thực hiện tiêu hủy", "Disposal executed"),
    "disposal.executed": ("Hoàn tất tiêu hủy", "Disposal completed"),
    "retention.confirm": ("Xác nhận thời hạn bảo quản", "Retention confirmed"),
    "retention.event_date": ("Ghi ngày kết thúc công việc", "Event date recorded"),
    "retention.hold_place": ("Tạm giữ hồ sơ (không tiêu hủy)", "Legal hold placed"),
    "retention.hold_release": ("Bỏ tạm giữ hồ sơ", "Legal hold released"),
    "retention.schedule_add": ("Thêm bảng thời hạn bảo quản", "Retention schedule added"),
    "role.grant": ("Phân vai trò", "Role granted"),
    "role.revoke": ("Thu hồi vai trò", "Role revoked"),
    "org.create": ("Tạo đơn vị", "Organisation created"),
    "org.import": ("Nhập danh sách đơn vị", "Organisations imported"),
    "overview.report": ("Lập báo cáo tổng quan năm học", "Year overview report made"),
}

EVENT_OUTCOME = {
    "ok": ("thành công", "ok"),
    "denied": ("bị từ chối", "denied"),
    "error": ("lỗi", "error"),
    "warning": ("cảnh báo", "warning"),
}
