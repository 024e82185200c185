/**
 * The cluster's side of the session, against fake nodes (test/fake-node.ts): a join
 * answered by a Redirect lands on the other node through a Claim; a drain redirect seats
 * the player again there; a refused resume joins the room anew (`roomGone`, `rejoined`);
 * reconnects go round the node list, and a redirected Resume is sent again where it is
 * sent; a Notice is an event; a redirect loop ends after the bound with a RedirectError.
 */

import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";

import { ErrorCode, RedirectError, RoomMoved, ServerError, type Client, type LeaveReason, type Room } from "../src/index.js";
import { deadUrl, fakeClient, fakeNode, type FakeNode } from "./fake-node.js";
import { rejection, waitFor } from "./server.js";

describe("cluster: redirects, rotation, rejoin, notices", () => {
  const nodes: FakeNode[] = [];
  const clients: Client[] = [];
  const node = async (...args: Parameters<typeof fakeNode>) => {
    const n = await fakeNode(...args);
    nodes.push(n);
    return n;
  };
  const client = (...args: Parameters<typeof fakeClient>) => {
    const c = fakeClient(...args);
    clients.push(c);
    return c;
  };
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });

  it("a Join answered by a Redirect connects to the other node, says Hello, claims the ticket and resolves there", async () => {
    const b = await node();
    const a = await node((type, _body, peer) => {
      if (type !== 1) return false;
      peer.redirect(b.url, "den", "room:den", 1);
      return true;
    });
    const c = client(a.url, { token: "tk" });
    const first = await c.connect();
    const redirected = waitFor<[string, string | null]>(c, "redirected");
    let lost = false;
    c.on("reconnecting", () => (lost = true));
    c.on("error", (err) => assert.fail(`no error expected: ${err}`));
    const room = await c.join("den");
    assert.equal(room.name, "den");
    assert.deepEqual(await redirected, [b.url, "den"]);
    assert.deepEqual(a.log, ["hello", "join den"]);
    assert.deepEqual(b.log, ["hello", "claim room:den"], "Hello first, then the ticket's Claim");
    assert.deepEqual(b.paths, ["/?token=tk"], "the token goes along");
    assert.equal(c.state, "open");
    assert.equal(c.url, b.url);
    assert.notEqual(c.playerId, first.playerId, "a player of the other node");
    assert.equal(room.playerId, c.playerId);
    assert.equal(c.room, room);
    assert.equal(lost, false, "a redirect is no lost connection");
  });

  it("a Watch redirected without a ticket is sent again, the same, to the other node", async () => {
    const b = await node();
    const a = await node((type, _body, peer) => {
      if (type !== 8) return false;
      peer.redirect(b.url, "den", null, 8);
      return true;
    });
    const c = client(a.url);
    await c.connect();
    const view = await c.watch("den", { key: "k" });
    assert.equal(view.watching, true);
    assert.deepEqual(b.log, ["hello", "watch den"]);
  });

  it("a drain redirect moves the player: Hello and the same join again there, and the room is rejoined", async () => {
    const b = await node();
    const a = await node();
    const c = client(a.url);
    await c.connect();
    const old = await c.join("den");
    const left = waitFor<[LeaveReason]>(old, "leave");
    const rejoined = waitFor<[Room]>(c, "rejoined");
    const redirected = waitFor<[string, string | null]>(c, "redirected");
    let lost = false;
    c.on("reconnecting", () => (lost = true));
    // The node shuts down: every member of the room is sent on, and the node closes with 1001.
    for (const p of a.peers) p.redirect(b.url, "den", null, null, 1001);
    assert.deepEqual(await redirected, [b.url, "den"]);
    const [room] = await rejoined;
    const [why] = await left;
    assert.ok(why instanceof RoomMoved, `${why}`);
    assert.equal(why.room, "den");
    assert.equal(room.name, "den");
    assert.notEqual(room, old);
    assert.equal(c.room, room);
    assert.deepEqual(b.log, ["hello", "join den"]);
    assert.equal(c.state, "open");
    assert.equal(lost, false);
  });

  it("a drain redirect after a quick-join quick-joins there, and a ticket is claimed", async () => {
    const b = await node();
    const a = await node();
    const c = client(a.url);
    await c.connect();
    await c.quickJoin();
    let rejoined = waitFor<[Room]>(c, "rejoined");
    for (const p of a.peers) p.redirect(b.url, null, null, null, 1001);
    await rejoined;
    assert.deepEqual(b.log, ["hello", "join -"], "quick-join again");
    // B drains in turn, this time with a seat reserved on A.
    rejoined = waitFor<[Room]>(c, "rejoined");
    for (const p of b.peers) p.redirect(a.url, "quick-7", "room:quick-7", null, 1001);
    const [room] = await rejoined;
    assert.equal(room.name, "quick-7");
    assert.deepEqual(a.log.slice(-2), ["hello", "claim room:quick-7"]);
  });

  it("a resume refused after a lost connection: roomGone, then Hello and the same join again", async () => {
    const a = await node((type, _body, peer) => {
      if (type !== 6) return false;
      peer.error(ErrorCode.RESUME_REFUSED, "resume refused: room den is gone", 6);
      return true;
    });
    const c = client(a.url);
    const first = await c.connect();
    const old = await c.join("den");
    const order: string[] = [];
    old.on("leave", (why) => order.push(`leave ${why instanceof ServerError ? why.name : why}`));
    c.on("roomGone", (name, err) => order.push(`roomGone ${name} ${err.code}`));
    c.on("reset", () => order.push("reset"));
    c.on("rejoined", (room) => order.push(`rejoined ${room.name}`));
    const rejoined = waitFor<[Room]>(c, "rejoined");
    for (const p of a.peers) p.cut();
    const [room] = await rejoined;
    assert.deepEqual(order, ["leave RESUME_REFUSED", `roomGone den ${ErrorCode.RESUME_REFUSED}`, "reset", "rejoined den"]);
    assert.deepEqual(a.log, ["hello", "join den", `resume ${a.tokenOf(first.playerId)}`, "hello", "join den"]);
    assert.equal(c.room, room);
    assert.equal(c.state, "open");
    assert.notEqual(c.playerId, first.playerId);
  });

  it("an app that joins again on reset gets the room the client rejoins", async () => {
    const a = await node();
    const c = client(a.url);
    await c.connect();
    await c.create("den", { private: true, key: "k" });
    const reset = waitFor(c, "reset");
    for (const p of a.peers) p.cut();
    await reset;
    const back = await c.create("den", { private: true, key: "k" });
    assert.equal(c.room, back);
    assert.deepEqual(a.log.slice(-2), ["hello", "create den"], "one create, not two");
  });

  it("reconnects go round the node list, past a dead node", async () => {
    const b = await node((type, body, peer) => {
      if (type !== 6) return false;
      // B knows the session (as if its node had moved it here): the same player, same room.
      peer.send(7, [1, "den", [], body[0], ["fake", [], [], []]]);
      return true;
    });
    const a = await node();
    const dead = await deadUrl();
    const c = client([a.url, dead, b.url]);
    await c.connect();
    const room = await c.join("den");
    const attempts: number[] = [];
    c.on("reconnecting", (n) => attempts.push(n));
    const resumed = waitFor(room, "resumed");
    await a.stop();
    await resumed;
    // 1: back to A (dead now), 2: the next node (dead), 3: B.
    assert.deepEqual(attempts, [1, 2, 3]);
    assert.deepEqual(b.log, [`resume ${a.tokenOf(c.playerId)}`]);
    assert.equal(c.room, room, "the same room, resumed");
    assert.equal(c.url, b.url);
    assert.equal(c.state, "open");
  });

  it("a Resume answered by a Redirect is sent again, with its token, where it is sent", async () => {
    const target = await node((type, body, peer) => {
      if (type !== 6) return false;
      peer.send(7, [1, "den", [], "next-token", ["fake", [], [], []]]);
      return true;
    });
    const b = await node((type, _body, peer) => {
      if (type !== 6) return false;
      peer.redirect(target.url, null, null, 6);
      return true;
    });
    const a = await node();
    const c = client([a.url, b.url], { token: "tk" });
    await c.connect();
    const room = await c.join("den");
    const token = a.tokenOf(c.playerId);
    const redirected = waitFor<[string, string | null]>(c, "redirected");
    const resumed = waitFor(room, "resumed");
    await a.stop();
    await resumed;
    assert.deepEqual(await redirected, [target.url, null]);
    assert.deepEqual(b.log, [`resume ${token}`]);
    assert.deepEqual(target.log, [`resume ${token}`], "no Hello: the same player");
    assert.deepEqual(target.paths, ["/?token=tk"]);
    assert.equal(c.room, room);
  });

  it("a Notice is a notice event", async () => {
    const a = await node();
    const c = client(a.url);
    await c.connect();
    const notice = waitFor<[{ text: string; toAll: boolean; timeMs: number }]>(c, "notice");
    for (const p of a.peers) p.notice("restart in 5 minutes", true, 1700000000000);
    assert.deepEqual(await notice, [{ text: "restart in 5 minutes", toAll: true, timeMs: 1700000000000 }]);
    assert.equal(c.state, "open");
  });

  it("a redirect loop ends after the bound with a RedirectError", async () => {
    let aUrl = "";
    const bounce = (to: () => string) => (type: number, _body: unknown[], peer: { redirect: (...a: [string, string, string, number]) => void }) => {
      if (type !== 1 && type !== 9) return false;
      peer.redirect(to(), "den", "room:den", type);
      return true;
    };
    const b = await node(bounce(() => aUrl));
    const a = await node(bounce(() => b.url));
    aUrl = a.url;
    const c = client(a.url, { maxRedirects: 3 });
    await c.connect();
    let redirects = 0;
    c.on("redirected", () => redirects++);
    const closed = waitFor<[Error | null]>(c, "close");
    const err = await rejection(c.join("den"));
    assert.ok(err instanceof RedirectError, `${err}`);
    assert.equal(err.redirects, 4);
    assert.equal(redirects, 3, "three followed, the fourth not");
    const [why] = await closed;
    assert.equal(why, err);
    assert.equal(c.state, "closed");
    assert.equal(a.log.filter((l) => l === "hello").length + b.log.filter((l) => l === "hello").length, 4, "the first node and three hops");
  });

  it("follows at most 5 redirects in a row by default", async () => {
    let aUrl = "";
    const b = await node((type, _body, peer) => (type === 1 || type === 9 ? (peer.redirect(aUrl, "den", "room:den", type), true) : false));
    const a = await node((type, _body, peer) => (type === 1 || type === 9 ? (peer.redirect(b.url, "den", "room:den", type), true) : false));
    aUrl = a.url;
    const c = client(a.url);
    await c.connect();
    let redirects = 0;
    c.on("redirected", () => redirects++);
    const err = await rejection(c.join("den"));
    assert.ok(err instanceof RedirectError, `${err}`);
    assert.equal(redirects, 5);
  });
});
