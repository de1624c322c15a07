"""Journeys through Quản trị, Mô hình and shared minutes in a real headless Chromium at phone width (390 px):
an admin creates a user (who then signs in), creates a key (its secret shown once) and finds both in the
filtered audit log; an analyst retrains, compares, promotes and rolls back a model through the confirmation
dialog; a leader reads minutes a secretary shared. Screenshots go to tests/web/artifacts/ (git-ignored)."""

from __future__ import annotations

import shutil
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from api.auth import Principal
from tests.api.auth_support import PASSWORD
from tests.web.browser_support import WALL, Site, browser

CLIP = Path(__file__).parents[1] / "speech" / "data" / "hop_vi_2speakers.ogg"


@pytest.mark.browser
@pytest.mark.slow
def test_admin_creates_a_user_and_a_key_and_finds_them_in_the_audit_log(site: Site) -> None:
    from playwright.sync_api import expect

    with browser(site) as b:
        page = b.sign_in("admin", "/quan-tri")
        nav = page.get_by_role("navigation", name="Điều hướng chính")
        expect(nav.get_by_role("link", name="Quản trị")).to_have_attribute("aria-current", "page")
        users = page.locator("#users-table")
        expect(users).to_contain_text("Trần Văn Lãnh")
        expect(page.locator("#audit-table")).to_contain_text("Đăng nhập")
        b.no_sideways_scroll("quan-tri")
        b.shot("quan-tri")

        # A new person: created here, then signs in on their own.
        page.locator("#user-create-box summary").click()
        form = page.locator("#user-form")
        form.get_by_label("Tên đăng nhập").fill("hoa.tran")
        form.get_by_label("Họ tên").fill("Trần Thị Hoa")
        form.get_by_label("Vai trò").select_option("secretary")
        form.get_by_label("Mật khẩu").fill(PASSWORD)
        b.shot("quan-tri-them-nguoi-dung")
        form.get_by_role("button", name="Tạo người dùng").click()
        expect(page.locator("#users-message")).to_contain_text("Đã tạo người dùng hoa.tran (thư ký)")
        expect(users.locator("tr[data-username='hoa.tran']")).to_contain_text("Trần Thị Hoa")

        # A key for a machine: the secret is shown once, then nowhere.
        page.locator("#key-create-box summary").click()
        page.get_by_label("Tên khóa", exact=False).fill("Màn hình IOC tầng 2")
        page.get_by_label("Vai trò của khóa").select_option("viewer")
        page.get_by_role("button", name="Tạo khóa", exact=True).click()
        expect(page.locator("#new-key")).to_be_visible()
        secret = page.locator("#new-key-value").input_value()
        assert secret.startswith("ioc_"), secret
        expect(page.locator("#keys-table")).to_contain_text("Màn hình IOC tầng 2")
        b.no_sideways_scroll("quan-tri (khóa mới)")
        b.shot("quan-tri-khoa-moi")
        me = httpx.get(f"{site.base}/v1/me", headers={"Authorization": f"Bearer {secret}"})
        assert me.status_code == 200 and me.json()["role"] == "viewer"
        page.reload()
        expect(page.locator("#keys-table")).to_contain_text("Màn hình IOC tầng 2")
        expect(page.locator("#new-key")).to_be_hidden()
        assert secret.split("_", 2)[2] not in page.content()

        # The audit log, filtered by action and by today's date (Asia/Ho_Chi_Minh): the creations are there.
        audit = page.locator("#audit-table")
        page.get_by_label("Hành động").select_option("user.create")
        page.get_by_role("button", name="Lọc", exact=True).click()
        expect(audit.locator("tbody tr")).to_have_count(1)
        expect(audit).to_contain_text("Tạo người dùng")
        expect(audit).to_contain_text("hoa.tran")
        expect(audit).to_contain_text("Lê Quản Trị")
        today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%d/%m/%Y")
        page.get_by_label("Hành động").select_option("key.")
        page.get_by_label("Từ ngày").fill(today)
        page.get_by_label("Đến ngày").fill(today)
        page.get_by_label("Người thực hiện").fill("quản trị")
        page.get_by_role("button", name="Lọc", exact=True).click()
        expect(audit.locator("tbody tr")).to_have_count(1)
        expect(audit).to_contain_text("Tạo khóa API")
        expect(audit).to_contain_text("Màn hình IOC tầng 2")
        assert secret.split("_", 2)[2] not in page.content()
        b.shot("quan-tri-nhat-ky")
        page.get_by_label("Người thực hiện").fill("không có ai tên này")
        page.get_by_role("button", name="Lọc", exact=True).click()
        expect(audit).to_contain_text("Không có mục nào khớp bộ lọc.")

    with browser(site) as b:
        page = b.sign_in("hoa.tran", "/cuoc-hop")
        expect(page.get_by_text("Trần Thị Hoa")).to_be_visible()


@pytest.mark.browser
@pytest.mark.slow
def test_analyst_retrains_compares_promotes_and_rolls_back(site: Site) -> None:
    from playwright.sync_api import expect

    with browser(site) as b:
        page = b.sign_in("analyst", "/mo-hinh")
        forecasting = page.locator("#model-forecasting")
        champion = forecasting.locator("thead th.is-champion")
        expect(champion).to_contain_text("Phiên bản 1")
        expect(champion).to_contain_text("đang dùng")
        expect(forecasting.get_by_title("smape", exact=True).first).to_have_text("sai số trung bình (%)")
        expect(forecasting.get_by_title("coverage_80", exact=True).first).to_have_text(
            "tỷ lệ khoảng 80% chứa giá trị thực"
        )
        expect(page.locator("#model-sentiment")).to_contain_text("độ chính xác cân bằng (F1)")
        expect(page.locator("#model-speech").get_by_title("eval_wer", exact=True).first).to_have_text("tỷ lệ lỗi từ")
        b.no_sideways_scroll("mo-hinh")
        b.shot("mo-hinh")

        # Retrain with progress: a second version, registered but not promoted.
        forecasting.get_by_label("Cách kết hợp các phương pháp").select_option("mean")
        forecasting.get_by_role("button", name="Huấn luyện lại").click()
        expect(forecasting.locator("progress")).to_be_visible()
        forecasting.locator(".train-status").filter(has_text="Đang").wait_for(timeout=60_000)
        b.shot("mo-hinh-huan-luyen")
        expect(forecasting.locator(".message")).to_contain_text("Huấn luyện xong", timeout=300_000)
        expect(forecasting.locator("thead").first).to_contain_text("Phiên bản 2")
        expect(champion).to_contain_text("Phiên bản 1")

        # The two versions on the same data.
        forecasting.get_by_text("So sánh hai phiên bản trên cùng dữ liệu").click()
        forecasting.get_by_role("button", name="So sánh", exact=True).click()
        result = forecasting.locator(".compare-result")
        expect(result).to_contain_text("Kiểm tra lại trên cùng", timeout=180_000)
        expect(result.locator("tbody tr")).to_have_count(4)
        b.shot("mo-hinh-so-sanh")

        # Promote through the dialog: cancelling changes nothing, confirming switches.
        dialog = page.locator("#confirm-dialog")
        forecasting.get_by_role("button", name="Đưa phiên bản 2 vào dùng").click()
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("Đưa phiên bản 2 vào dùng?")
        dialog.get_by_role("button", name="Hủy").click()
        expect(forecasting.locator(".message")).to_contain_text("Đã hủy")
        expect(champion).to_contain_text("Phiên bản 1")
        forecasting.get_by_role("button", name="Đưa phiên bản 2 vào dùng").click()
        b.no_sideways_scroll("mo-hinh (hộp xác nhận)")
        b.shot("mo-hinh-xac-nhan")
        dialog.get_by_role("button", name="Đưa vào dùng").click()
        expect(forecasting.locator(".message")).to_contain_text("Phiên bản 2 đã được đưa vào dùng")
        champion = page.locator("#model-forecasting thead th.is-champion")
        expect(champion).to_contain_text("Phiên bản 2")
        assert site.services.registry.champion_version("forecasting") == "2"

        # Roll back: the page knows the previous champion.
        rollback = page.locator("#model-forecasting").get_by_role("button", name="Quay lại phiên bản 1")
        rollback.click()
        expect(dialog).to_contain_text("Quay lại phiên bản 1?")
        dialog.get_by_role("button", name="Quay lại").click()
        expect(page.locator("#model-forecasting .message")).to_contain_text("Đã quay lại phiên bản 1")
        expect(page.locator("#model-forecasting thead th.is-champion")).to_contain_text("Phiên bản 1")
        assert site.services.registry.champion_version("forecasting") == "1"
        b.shot("mo-hinh-quay-lai")

    with browser(site, viewport=WALL) as b:
        page = b.sign_in("leader", "/mo-hinh")
        expect(page.locator("#model-forecasting thead th.is-champion")).to_contain_text("Phiên bản 1")
        expect(page.get_by_role("button", name="Huấn luyện lại")).to_have_count(0)
        expect(page.get_by_role("button", name="Đưa phiên bản 2 vào dùng")).to_have_count(0)
        b.shot("mo-hinh-lanh-dao-1920")


@pytest.mark.browser
@pytest.mark.slow
def test_leader_reads_minutes_a_secretary_shared(site: Site, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    from api.storage.tables import Job, TranscriptSegment
    from api.stores import transcripts

    audio = tmp_path / "hop.ogg"
    shutil.copy(CLIP, audio)
    lan = next(u for u in _users(site) if u.username == "lan")
    owner = Principal(key_id=None, name=lan.name, role="secretary", user_id=lan.id)
    ids = []
    for title, shared in (("Họp giao ban Sở Du lịch", True), ("Họp nội bộ tổ thư ký", False)):
        tid, job_id = uuid.uuid4().hex, uuid.uuid4().hex
        with site.services.db.transaction() as s:
            s.add(Job(id=job_id, kind="transcribe", status="succeeded", progress=1.0, payload={}, owner=owner.subject))
            row = transcripts.create(
                s,
                transcription_id=tid,
                owner=owner,
                audio_path=audio,
                filename="hop.ogg",
                title=title,
                language="vi",
                vocabulary="",
                speakers=2,
                job_id=job_id,
                duration_s=18.6,
            )
            row.shared_with_viewers = shared
            s.flush()
            for i, (speaker, text) in enumerate(
                (("Chủ tọa", "Kính thưa các đồng chí, hôm nay họp về du lịch."), ("Sở Du lịch", "Lượng khách tăng."))
            ):
                s.add(
                    TranscriptSegment(
                        transcription_id=tid, idx=i, start=i * 9.0, end=i * 9.0 + 9.0, speaker=speaker, text=text
                    )
                )
        ids.append(tid)

    with browser(site) as b:
        page = b.sign_in("leader", "/")
        latest = page.locator("#latest-title").locator("xpath=..")
        expect(latest).to_contain_text("Họp giao ban Sở Du lịch")
        expect(latest).not_to_contain_text("Họp nội bộ tổ thư ký")
        latest.get_by_role("link", name="Họp giao ban Sở Du lịch").click()
        page.wait_for_url(f"{site.base}/cuoc-hop/{ids[0]}")
        expect(page.get_by_role("link", name="Tải DOCX")).to_be_visible()
        expect(page.locator("#segments")).to_contain_text("Lượng khách tăng.")
        expect(page.locator("#read-only")).to_contain_text("chia sẻ để đọc")
        assert page.locator("#segments [contenteditable]").count() == 0
        expect(page.locator("#rename-form")).to_have_count(0)
        b.no_sideways_scroll("cuoc-hop (lãnh đạo, chỉ đọc)")
        b.shot("cuoc-hop-chia-se-lanh-dao")
        page.goto(f"{site.base}/cuoc-hop/{ids[1]}")
        expect(page.get_by_role("heading", name="Không tìm thấy cuộc họp")).to_be_visible()
        refused = {
            f"404 {site.base}/cuoc-hop/{ids[1]}",
            "Failed to load resource: the server responded with a status of 404 (Not Found)",
        }
        assert set(b.errors) == refused, b.errors  # refused on purpose, and nothing else went wrong
        b.errors.clear()

    with browser(site) as b:
        page = b.sign_in("lan", f"/cuoc-hop/{ids[1]}")
        share = page.get_by_label("Chia sẻ biên bản với lãnh đạo (vai trò người xem)")
        expect(share).not_to_be_checked()
        share.check()
        expect(page.locator("#share-message")).to_contain_text("Đã chia sẻ")
        b.no_sideways_scroll("cuoc-hop (chia sẻ)")
        b.shot("cuoc-hop-chia-se")
    with site.services.db.session() as s:
        row = transcripts.get(s, ids[1])
        assert row is not None and row.shared_with_viewers


def _users(site: Site) -> list[Any]:
    from api.users import list_users

    with site.services.db.session() as s:
        return list(list_users(s))
