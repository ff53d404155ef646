"""A simulated DLMS/COSEM meter on TCP, enough for the reads of :mod:`drivers.optical.dlms`:
the association of a public client, GET of the serial number (0.0.96.1.0.255) and of the
active energy register (1.0.1.8.0.255, value and scaler-unit), the release. Framed with the
IEC 62056-47 wrapper (``dlms+tcp://``) or in HDLC (``dlms+hdlc://``: the set-up SNRM and
the DISC answered by UA, the APDUs in numbered I-frames behind the LLC header, one frame
each way, no segmentation).

The APDUs are parsed and built with the ``dlms-cosem`` library's own classes (the AARQ,
the GET request, the AARE, the RLRE, the A-XDR data, the UA and I-frames); what is put
together here is the reading of the client's HDLC frames (addresses and control byte; the
frame check sequence is not verified), and the GET responses, four bytes before the data,
because the library's ``GetResponseNormal`` cannot encode itself in 25.1.0 (it appends the
bytes of the invoke-id where an int goes).

Faults: :attr:`SimulatedDlmsMeter.refuse_association`, :attr:`~SimulatedDlmsMeter.has_serial`
(False: the serial's GET is answered "object undefined"), a unit code other than Wh; and
the transport faults ``timeout`` (no answer) and ``disconnect`` (the meter hangs up), on GET
answers (``measurement``) or on any answer.
"""

from __future__ import annotations

import contextlib
import math
import socket
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Self

from dlms_cosem import dlms_data, enumerations
from dlms_cosem.hdlc import address, frames
from dlms_cosem.protocol import acse, xdlms
from dlms_cosem.protocol.wrappers import WrapperHeader, WrapperProtocolDataUnit
from dlms_cosem.protocol.xdlms.conformance import Conformance

from drivers.optical.dlms import ENERGY_IMPORT_LN, LOGICAL_DEVICE_NAME_LN, SERIAL_LN, UNIT_WH
from drivers.simulators.base import Fault, FaultKind, FaultPlan, SimulatorOptions

__all__ = ["DlmsSimulator", "SimulatedDlmsMeter", "start_dlms_meter"]

_AARQ = 0x60
_RLRQ = 0x62
_GET_REQUEST = 0xC0
_GET_RESPONSE_NORMAL = bytes([0xC4, 0x01])
_OBJECT_UNDEFINED = enumerations.DataAccessResult.OBJECT_UNDEFINED
_FLAG = 0x7E
_LLC_REQUEST = b"\xe6\xe6\x00"
_LLC_RESPONSE = b"\xe6\xe7\x00"
_SNRM = 0x83
_DISC = 0x43


class SimulatedDlmsMeter:
    """Model of the meter: ``serial``; ``logical_device_name`` ("" for none); the energy
    register's ``value``, ``scaler`` and ``unit`` (energy = value × 10^scaler in the unit,
    30 = Wh); ``advance``, the energy its register has counted since it was made (kWh, a
    callable; None: the register stands still), added to ``value`` in whole units of
    10^scaler Wh."""

    def __init__(
        self,
        *,
        serial: str = "EM-000001",
        logical_device_name: str = "CTREM1000001",
        value: int = 1234567,
        scaler: int = 0,
        unit: int = UNIT_WH,
        advance: Callable[[], float] | None = None,
    ) -> None:
        self.serial = serial
        self.logical_device_name = logical_device_name
        self.value = value
        self.scaler = scaler
        self.unit = unit
        self.advance = advance
        self.refuse_association = False
        self.has_serial = True
        self.gets: list[str] = []
        """Every attribute asked for, as ``A.B.C.D.E.F/attribute``."""
        self._lock = threading.Lock()

    def counted(self) -> int:
        """The register's value now: ``value`` plus the whole units of 10^scaler Wh
        counted since (:attr:`advance`)."""
        if self.advance is None or self.unit != UNIT_WH:
            return self.value
        wh = Decimal(repr(self.advance())) * 1000
        return self.value + math.floor(wh.scaleb(-self.scaler))

    def answer(self, apdu: bytes) -> tuple[bytes | None, bool]:
        """The APDU answering ``apdu`` (None: none) and whether it carries readings."""
        with self._lock:
            tag = apdu[0] if apdu else None
            if tag == _AARQ:
                return self._associate(apdu), False
            if tag == _GET_REQUEST:
                return self._get(apdu), True
            if tag == _RLRQ:
                rlre = acse.ReleaseResponse(reason=enumerations.ReleaseResponseReason.NORMAL)
                return rlre.to_bytes(), False
            return None, False

    def _associate(self, apdu: bytes) -> bytes:
        request = acse.ApplicationAssociationRequest.from_bytes(apdu)
        public = request.authentication in (None, enumerations.AuthenticationMechanism.NONE)
        if self.refuse_association or not public:
            refusal = acse.ApplicationAssociationResponse(
                result=enumerations.AssociationResult.REJECTED_PERMANENT,
                result_source_diagnostics=enumerations.AcseServiceUserDiagnostics.NO_REASON_GIVEN,
            )
            return bytes(refusal.to_bytes())
        conformance = Conformance(get=True)
        accepted = acse.ApplicationAssociationResponse(
            result=enumerations.AssociationResult.ACCEPTED,
            result_source_diagnostics=enumerations.AcseServiceUserDiagnostics.NULL,
            user_information=acse.UserInformation(
                content=xdlms.InitiateResponse(
                    negotiated_conformance=conformance, server_max_receive_pdu_size=512
                )
            ),
        )
        return bytes(accepted.to_bytes())

    def _get(self, apdu: bytes) -> bytes:
        request = xdlms.GetRequestNormal.from_bytes(apdu)
        wanted = request.cosem_attribute
        instance = wanted.instance
        ln = (instance.a, instance.b, instance.c, instance.d, instance.e, instance.f)
        self.gets.append(f"{'.'.join(map(str, ln))}/{wanted.attribute}")
        data: bytes | None = None
        if ln == SERIAL_LN and wanted.attribute == 2 and self.has_serial:
            data = dlms_data.OctetStringData(self.serial.encode("ascii")).to_bytes()
        elif ln == LOGICAL_DEVICE_NAME_LN and wanted.attribute == 2 and self.logical_device_name:
            name = self.logical_device_name.encode("ascii")
            data = dlms_data.OctetStringData(name).to_bytes()
        elif ln == ENERGY_IMPORT_LN and wanted.attribute == 2:
            data = dlms_data.DoubleLongUnsignedData(self.counted()).to_bytes()
        elif ln == ENERGY_IMPORT_LN and wanted.attribute == 3:
            data = dlms_data.DataStructure(
                [dlms_data.IntegerData(self.scaler), dlms_data.EnumData(self.unit)]
            ).to_bytes()
        invoke = bytes(request.invoke_id_and_priority.to_bytes())
        if data is None:
            return _GET_RESPONSE_NORMAL + invoke + bytes([0x01, _OBJECT_UNDEFINED])
        return _GET_RESPONSE_NORMAL + invoke + b"\x00" + data


class DlmsSimulator:
    """Serve ``meter`` on a TCP port of ``host`` (0: ephemeral) until :meth:`stop`, framed
    with the wrapper or in ``hdlc``; its address is ``dlms+tcp://host:port`` or
    ``dlms+hdlc://host:port``."""

    def __init__(
        self,
        meter: SimulatedDlmsMeter,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        hdlc: bool = False,
    ) -> None:
        self.meter = meter
        self.hdlc = hdlc
        self.meter_address = 1
        """The meter's logical device address (the HDLC server address)."""
        self.faults = FaultPlan()
        self._listener = socket.create_server((host, port))
        self._host = host
        self._port = int(self._listener.getsockname()[1])
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()

    @property
    def address(self) -> str:
        """``dlms+tcp://host:port``."""
        scheme = "dlms+hdlc" if self.hdlc else "dlms+tcp"
        return f"{scheme}://{self._host}:{self._port}"

    def inject(self, fault: Fault) -> None:
        """Arm a ``timeout`` or ``disconnect`` fault."""
        if fault.kind not in (FaultKind.TIMEOUT, FaultKind.DISCONNECT):
            raise ValueError(f"the DLMS simulator has no {fault.kind} fault")
        self.faults.arm(fault)

    def clear_faults(self) -> None:
        """Disarm every fault."""
        self.faults.clear()

    def start(self) -> Self:
        """Start accepting connections; returns self."""
        self._listener.settimeout(0.05)
        thread = threading.Thread(target=self._accept, name="sim-dlms", daemon=True)
        self._threads.append(thread)
        thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; close the listener and every connection; idempotent."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        with self._lock:
            for conn in self._connections:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        for thread in list(self._threads):
            thread.join()
        self._listener.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            with self._lock:
                self._connections.add(conn)
                self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self.hdlc:
                _HdlcSession(self, conn).run()
                return
            while not self._stopping.is_set():
                header_bytes = _receive(conn, 8)
                if header_bytes is None:
                    return
                header = WrapperHeader.from_bytes(header_bytes)
                apdu = _receive(conn, header.length)
                if apdu is None:
                    return
                answer = self._answer(apdu)
                if answer is None:
                    continue
                if answer is _HANG_UP:
                    return
                out = WrapperHeader(
                    source_wport=header.destination_wport,
                    destination_wport=header.source_wport,
                    length=len(answer),
                )
                conn.sendall(WrapperProtocolDataUnit(answer, out).to_bytes())
        except OSError:
            return
        finally:
            with self._lock:
                self._connections.discard(conn)
            conn.close()

    def _answer(self, apdu: bytes) -> bytes | None:
        """The meter's answer to ``apdu`` with the armed faults applied: None for none,
        :data:`_HANG_UP` when the meter hangs up."""
        answer, measurement = self.meter.answer(apdu)
        fault = self.faults.take_for(measurement=measurement)
        if answer is None or (fault is not None and fault.kind == FaultKind.TIMEOUT):
            return None
        if fault is not None:  # DISCONNECT
            return _HANG_UP
        return answer

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` was called."""
        return self._stopping.is_set()


_HANG_UP = b""


class _HdlcSession:
    """One connection in HDLC: SNRM and DISC answered by UA, I-frames by I-frames."""

    def __init__(self, server: DlmsSimulator, conn: socket.socket) -> None:
        self._server = server
        self._conn = conn
        self._client = address.HdlcAddress(16, None, "client")
        self._meter = address.HdlcAddress(server.meter_address, None, "server")
        self._ssn = 0
        self._rsn = 0

    def run(self) -> None:
        buffer = bytearray()
        while not self._server.stopping:
            data = self._conn.recv(4096)
            if not data:
                return
            buffer += data
            while (frame := _take_frame(buffer)) is not None:
                out = self._frame(frame)
                if out is _HANG_UP:
                    return
                if out is not None:
                    self._conn.sendall(out)

    def _frame(self, frame: bytes) -> bytes | None:
        control, info = _control_and_information(frame)
        if control & 0xEF in (_SNRM, _DISC):
            fault = self._server.faults.take_for(measurement=False)
            if fault is not None:
                return None if fault.kind == FaultKind.TIMEOUT else _HANG_UP
            if control & 0xEF == _SNRM:
                self._ssn = self._rsn = 0
            ua = frames.UnNumberedAcknowledgmentFrame(self._client, self._meter, payload=None)
            return bytes(ua.to_bytes())
        if control & 0x01 or not info.startswith(_LLC_REQUEST):
            return None  # not an I-frame for us: a meter ignores it
        self._rsn = (self._rsn + 1) % 8
        answer = self._server._answer(info[len(_LLC_REQUEST) :])
        if answer is None or answer is _HANG_UP:
            return answer
        reply = frames.InformationFrame(
            self._client,
            self._meter,
            payload=_LLC_RESPONSE + answer,
            send_sequence_number=self._ssn,
            receive_sequence_number=self._rsn,
        )
        self._ssn = (self._ssn + 1) % 8
        return bytes(reply.to_bytes())


def _take_frame(buffer: bytearray) -> bytes | None:
    """The first whole frame of ``buffer`` (flags included), removed from it; None until
    one has arrived. Bytes before a flag are dropped."""
    while buffer and buffer[0] != _FLAG:
        del buffer[0]
    if len(buffer) < 3:
        return None
    length = ((buffer[1] & 0x07) << 8) | buffer[2]  # the frame format field's 11 bits
    if len(buffer) < length + 2:
        return None
    frame = bytes(buffer[: length + 2])
    del buffer[: length + 2]
    return frame


def _control_and_information(frame: bytes) -> tuple[int, bytes]:
    """The control byte of a client's frame and its information field (after the HCS)."""
    position = 3
    for _ in range(2):  # the destination address, then the source: each ends on bit 0 = 1
        while position < len(frame) and not frame[position] & 0x01:
            position += 1
        position += 1
    if position >= len(frame):
        return 0x01, b""
    information = frame[position + 3 : -3] if len(frame) > position + 4 else b""
    return frame[position], information


def _receive(conn: socket.socket, amount: int) -> bytes | None:
    data = bytearray()
    while len(data) < amount:
        chunk = conn.recv(amount - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def start_dlms_meter(options: SimulatorOptions) -> DlmsSimulator:
    """Start a simulated DLMS meter on TCP (``options.host``/``port``): serial
    ``options.serial`` (default ``EM-000001``), energy import ``options.value`` kWh
    (default 1234.567 kWh, stated in Wh)."""
    kwh = 1234.567 if options.value is None else options.value
    if not 0 <= kwh < 4.2e6:
        raise ValueError(f"the simulated register holds 0 to 4.2e6 kWh, got {kwh}")
    meter = SimulatedDlmsMeter(serial=options.serial or "EM-000001", value=round(kwh * 1000))
    server = DlmsSimulator(meter, host=options.host, port=options.port)
    if options.fault is not None:
        try:
            server.inject(options.fault)
        except ValueError:
            server.stop()
            raise
    return server.start()
