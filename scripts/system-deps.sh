#!/usr/bin/env bash
# Install the Debian packages hoso needs, only those missing (apt-get update once, only if something is missing).
# Usage: scripts/system-deps.sh run|test|bench
set -euo pipefail
want=(fonts-noto-core poppler-utils)  # poppler-utils: pdftotext, for the lesson-plan content check
# Office lesson plans to PDF/A (LibreOffice; Liberation has the metrics of Times New Roman), OCR of scans
want+=(libreoffice-writer-nogui fonts-liberation2 tesseract-ocr tesseract-ocr-vie ocrmypdf)
want+=(ghostscript)  # PDF/A-2b of unsigned PDFs at upload (archive/pdfa_normalise.py)
if [ "${1:-test}" = test ]; then
  want+=(softhsm2 opensc chromium)
  want+=(radosgw ceph-mon ceph-osd ceph-common curl)  # Ceph RGW, the real S3 server of the tests (scripts/ceph-rgw-start.sh)
  want+=(prometheus)  # promtool: checks and unit-tests deploy/prometheus-alerts.yml
fi
if [ "${1:-test}" = bench ]; then
  want+=(nginx apache2-utils)  # bench/bench_downloads.py: nginx serves the same file, ab drives both
fi
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
echo "installing Debian packages: ${missing[*]}"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
