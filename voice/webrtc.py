"""WebRTC calls: Pipecat's SmallWebRTC transport at `POST /api/offer` and `PATCH /api/offer`.

As Pipecat's runner has them, through `SmallWebRTCRequestHandler`, so the official
`@pipecat-ai/small-webrtc-transport` client works unchanged: the offer's JSON is
`{sdp, type, pc_id?, restart_pc?, requestData | request_data?}`, the answer
`{sdp, type, pc_id}`; an offer naming a live `pc_id` renegotiates that peer; PATCH trickles
ICE candidates to one. Each new peer is one voice session: it takes a slot from the same
`--max-sessions` as the websockets (429 when none is free) and runs the same pipeline, with
the RTVI data channel, until the peer closes. Bad input is a 400 with a JSON error, and
nothing is left running.

With auth on (`voice.access`) a new peer needs a session token for "webrtc": in the path
(`/sessions/<token>/api/offer`, the offer URL `POST /start` returns), or as
`Authorization: Bearer`; else 401. A renegotiation or a PATCH for a live peer needs the token
that opened it (checked, not spent again).
"""

from __future__ import annotations

import asyncio
import json
import uuid

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from loguru import logger
from pipecat.runner.types import SmallWebRTCRunnerArguments
from pipecat.transports.base_transport import TransportParams
from pipecat.transports.smallwebrtc.connection import IceServer, SmallWebRTCConnection
from pipecat.transports.smallwebrtc.request_handler import (
    IceCandidate,
    SmallWebRTCPatchRequest,
    SmallWebRTCRequest,
    SmallWebRTCRequestHandler,
)
from pipecat.transports.smallwebrtc.transport import SmallWebRTCTransport

from voice.access import Access, token_of
from voice.http_errors import json_error
from voice.session_token import Grant, TokenRefused
from voice.sessions import Sessions
from voice.transports import WEBSOCKET_RATES

OFFER_PATH = "/api/offer"
# A peer that has not connected (ICE and DTLS) this long after its offer is closed.
CONNECT_TIMEOUT_SECS = 30.0
# How long shutdown waits for closed peers' sessions to end before cancelling them.
SHUTDOWN_WAIT_SECS = 5.0


class BadOffer(ValueError):
    """A request to /api/offer this app cannot take; the message says why."""


def add_webrtc_routes(app: FastAPI, sessions: Sessions, access: Access) -> None:
    """Add `POST` and `PATCH /api/offer` (and their `/sessions/{id}/api/offer` forms).

    The app's peers gather candidates through `--ice-servers` (STUN/TURN); with none, they
    offer host candidates only."""
    ice_servers = [IceServer(**server) for server in sessions.settings.ice_servers]
    handler = SmallWebRTCRequestHandler(ice_servers=ice_servers or None)
    running: set[asyncio.Task[None]] = set()
    owners: dict[str, str] = {}  # a live peer's pc_id -> the jti of the token that opened it

    def owns(request: Request, in_path: str | None, pc_id: str) -> str | None:
        """Why this request may not touch live peer `pc_id`, or None if it may."""
        if not access.on:
            return None
        try:
            grant = access.tokens.verify(token_of(request.headers, {}, in_path), "webrtc")
        except TokenRefused as e:
            return f"its session token is {e}"
        return None if owners.get(pc_id) == grant.jti else "its token did not open this peer"

    async def offer(request: Request, session_id: str | None = None) -> JSONResponse:
        try:
            offered = parse_offer(await request.body())
        except BadOffer as e:
            return json_error(400, str(e))
        if offered.pc_id and offered.pc_id in handler._pcs_map:  # renegotiation: same session
            if refusal := owns(request, session_id, offered.pc_id):
                return _unauthorized(f"renegotiation refused: {refusal}")
            return await _answer(handler, offered, _no_new_peer)
        try:
            grant = access.admit(token_of(request.headers, {}, session_id), "webrtc")
        except TokenRefused as e:
            return _unauthorized(f"webrtc offer refused: its session token is {e}")
        if not sessions.slots.take():
            logger.warning(f"webrtc offer refused: all {sessions.slots.limit} sessions in use")
            _release(grant)
            return json_error(
                429, f"all {sessions.slots.limit} voice sessions are in use; retry later"
            )
        taken = True
        sid = _session_id(session_id, grant)

        async def start(connection: SmallWebRTCConnection) -> None:
            nonlocal taken
            taken = False  # the session gives the slot back when it ends
            pc_id = connection.pc_id
            # The caller's context comes from the portal, through a token; never the browser.
            offered.request_data = grant.body if grant else {}
            if grant:
                owners[pc_id] = grant.jti
            task = asyncio.create_task(_session(sessions, connection, offered, sid))
            running.add(task)
            task.add_done_callback(lambda task: (running.discard(task), owners.pop(pc_id, None)))

        try:
            return await _answer(handler, offered, start)
        finally:
            if taken:  # no session started: the offer failed
                sessions.slots.give_back()
                _release(grant)

    def _release(grant: Grant | None) -> None:
        if grant:
            access.tokens.release(grant)

    async def patch(request: Request, session_id: str | None = None) -> JSONResponse:
        try:
            candidates = parse_patch(await request.body())
        except BadOffer as e:
            return json_error(400, str(e))
        if candidates.pc_id not in handler._pcs_map:
            return json_error(400, f"no peer connection {candidates.pc_id!r}")
        if refusal := owns(request, session_id, candidates.pc_id):
            return _unauthorized(f"ICE candidates refused: {refusal}")
        try:
            await handler.handle_patch_request(candidates)
        except ValueError as e:
            return json_error(400, f"a candidate that is not ICE: {e}")
        return JSONResponse({"status": "success"})

    app.add_api_route(OFFER_PATH, offer, methods=["POST"])
    app.add_api_route(OFFER_PATH, patch, methods=["PATCH"])
    app.add_api_route(f"/sessions/{{session_id}}{OFFER_PATH}", offer, methods=["POST"])
    app.add_api_route(f"/sessions/{{session_id}}{OFFER_PATH}", patch, methods=["PATCH"])

    async def close_every_peer() -> None:
        """On shutdown: close every open peer, and wait (bounded) for their sessions to end,
        so nothing is left for the event loop's teardown to cancel."""
        await handler.close()
        if running:
            _, late = await asyncio.wait(set(running), timeout=SHUTDOWN_WAIT_SECS)
            for task in late:
                task.cancel()

    app.router.on_shutdown.append(close_every_peer)


def parse_offer(body: bytes) -> SmallWebRTCRequest:
    """The offer in a POST body; raise `BadOffer` unless it is one."""
    data = _json_object(body)
    sdp, kind = data.get("sdp"), data.get("type")
    if kind != "offer":
        raise BadOffer(f"'type' must be \"offer\", not {kind!r}")
    if not isinstance(sdp, str) or not sdp.startswith("v=0") or "m=audio" not in sdp:
        raise BadOffer("'sdp' must be an SDP offer (v=0 ...) with an audio section (m=audio)")
    pc_id = data.get("pc_id")
    if pc_id is not None and not isinstance(pc_id, str):
        raise BadOffer("'pc_id' must be a string")
    return SmallWebRTCRequest(
        sdp=sdp,
        type=kind,
        pc_id=pc_id,
        restart_pc=bool(data.get("restart_pc")),
        request_data=data.get("request_data", data.get("requestData")),
    )


def parse_patch(body: bytes) -> SmallWebRTCPatchRequest:
    """The ICE candidates in a PATCH body; raise `BadOffer` unless they are."""
    data = _json_object(body)
    pc_id, candidates = data.get("pc_id"), data.get("candidates", [])
    if not isinstance(pc_id, str) or not isinstance(candidates, list):
        raise BadOffer("a PATCH needs 'pc_id' (a string) and 'candidates' (a list)")
    try:
        return SmallWebRTCPatchRequest(
            pc_id=pc_id,
            candidates=[
                IceCandidate(
                    candidate=str(c["candidate"]),
                    sdp_mid=str(c["sdp_mid"]),
                    sdp_mline_index=int(c["sdp_mline_index"]),
                )
                for c in candidates
            ],
        )
    except (KeyError, TypeError, ValueError) as e:
        raise BadOffer("each candidate needs 'candidate', 'sdp_mid' and 'sdp_mline_index'") from e


def _json_object(body: bytes) -> dict:
    try:
        data = json.loads(body)
    except ValueError as e:
        raise BadOffer("the body is not JSON") from e
    if not isinstance(data, dict):
        raise BadOffer("the body must be a JSON object")
    return data


async def _no_new_peer(connection: SmallWebRTCConnection) -> None:
    raise AssertionError("a renegotiation does not start a session")


async def _answer(
    handler: SmallWebRTCRequestHandler, offered: SmallWebRTCRequest, start
) -> JSONResponse:
    try:
        answer = await handler.handle_web_request(offered, start)
    except Exception as e:  # aiortc's SDP parser raises whatever it meets
        logger.warning(f"webrtc offer refused: {e!r}")
        return json_error(400, f"the offer could not be answered: {e}")
    return JSONResponse(answer)


async def _session(
    sessions: Sessions,
    connection: SmallWebRTCConnection,
    offered: SmallWebRTCRequest,
    session_id: str,
) -> None:
    """One peer's session, in its slot until the pipeline ends; then the peer is closed."""
    runner_args = SmallWebRTCRunnerArguments(
        webrtc_connection=connection, body=offered.request_data, session_id=session_id
    )
    params = TransportParams(
        audio_in_enabled=True,
        audio_in_sample_rate=WEBSOCKET_RATES.audio_in,
        audio_out_enabled=True,
        audio_out_sample_rate=WEBSOCKET_RATES.audio_out,
    )
    watchdog = asyncio.create_task(_close_unless_connected(connection, session_id))
    try:
        with logger.contextualize(session=session_id):
            logger.info(f"webrtc peer {connection.pc_id}")
            await sessions.run_on(
                lambda: SmallWebRTCTransport(webrtc_connection=connection, params=params),
                runner_args,
                WEBSOCKET_RATES,
                transport="webrtc",
            )
    finally:
        watchdog.cancel()
        sessions.slots.give_back()
        await connection.disconnect()


async def _close_unless_connected(connection: SmallWebRTCConnection, session_id: str) -> None:
    """Close the peer if it is not connected `CONNECT_TIMEOUT_SECS` after its offer (so its
    session ends and frees the slot); a connected peer that goes silent ends on the
    pipeline's idle timeout instead."""
    await asyncio.sleep(CONNECT_TIMEOUT_SECS)
    if not connection.is_connected():
        with logger.contextualize(session=session_id):
            logger.warning(f"webrtc peer not connected within {CONNECT_TIMEOUT_SECS:g} s; closing")
        await connection.disconnect()


def _session_id(in_path: str | None, grant: Grant | None) -> str:
    """The session's id: the token's id; the path's when it is a plain id, not a token (which
    must not reach the logs); else a new one."""
    if grant:
        return grant.jti
    if in_path and "." not in in_path and len(in_path) <= 64:
        return in_path
    return uuid.uuid4().hex[:12]


def _unauthorized(reason: str) -> JSONResponse:
    logger.warning(reason)
    return json_error(401, reason, {"WWW-Authenticate": "Bearer"})
