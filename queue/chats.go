package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/bookinggw/gateway/core"
)

// Task types of messenger conversations.
const (
	TypeChatInbox  = "chat:inbox" // handle one stored Telegram update or Slack event
	TypeChatMirror = "chat:slack" // copy a conversation's new messages to its Slack thread
	TypeChatSweep  = "chat:sweep" // re-enqueue stored deliveries not handled
	mirrorLockTTL  = 30 * time.Second
	mirrorLockWait = 10 * time.Second
)

// EnqueueChatInbox schedules a stored delivery's handling; its id is the
// task id, so a repeat and the sweeper make one task.
func (q *Client) EnqueueChatInbox(ctx context.Context, id string) error {
	p, _ := json.Marshal(sendPayload{ID: id})
	_, err := q.c.EnqueueContext(ctx, asynq.NewTask(TypeChatInbox, p), asynq.TaskID("chat-inbox:"+id), asynq.Queue(Critical), asynq.MaxRetry(10))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}

// EnqueueSlackMirror schedules a conversation's Slack mirror. Each call
// makes a task (a message written while one runs must not be missed); the
// handler serializes them per conversation and posts only what is not
// mirrored yet.
func (q *Client) EnqueueSlackMirror(ctx context.Context, conversationID string) error {
	p, _ := json.Marshal(sendPayload{ID: conversationID})
	_, err := q.c.EnqueueContext(ctx, asynq.NewTask(TypeChatMirror, p), asynq.Queue(Default), asynq.MaxRetry(10))
	return err
}

// ChatHandler is the worker side of conversations (chats.Handler).
type ChatHandler interface {
	HandleInbox(ctx context.Context, id string) error
	MirrorSlack(ctx context.Context, conversationID string) error
}

// ChatInboxSweeper lists stored deliveries not handled.
type ChatInboxSweeper interface {
	UnhandledChatInbox(ctx context.Context, before time.Time, limit int) ([]string, error)
}

// RegisterChats adds the conversation handlers and their sweeper.
func RegisterChats(w *Worker, q *Client, h ChatHandler, sw ChatInboxSweeper, now func() time.Time, log *slog.Logger, every, grace time.Duration) error {
	w.Handle(TypeChatInbox, func(ctx context.Context, t *asynq.Task) error {
		var pl sendPayload
		if err := json.Unmarshal(t.Payload(), &pl); err != nil || pl.ID == "" {
			return fmt.Errorf("bad payload: %w", asynq.SkipRetry)
		}
		return h.HandleInbox(ctx, pl.ID)
	})
	w.Handle(TypeChatMirror, func(ctx context.Context, t *asynq.Task) error {
		var pl sendPayload
		if err := json.Unmarshal(t.Payload(), &pl); err != nil || pl.ID == "" {
			return fmt.Errorf("bad payload: %w", asynq.SkipRetry)
		}
		unlock, err := lockFor(ctx, w.rdb, "lock:chat-mirror:"+pl.ID)
		if err != nil {
			return err
		}
		defer unlock()
		return h.MirrorSlack(ctx, pl.ID)
	})
	w.Handle(TypeChatSweep, func(ctx context.Context, _ *asynq.Task) error {
		ids, err := sw.UnhandledChatInbox(ctx, now().Add(-grace), 200)
		for _, id := range ids {
			if err := q.EnqueueChatInbox(ctx, id); err != nil {
				log.WarnContext(ctx, "chat sweep: enqueue", "id", id, "error", err.Error())
			}
		}
		return err
	})
	return w.Every(every, TypeChatSweep, Default)
}

// lockFor takes a short Redis lock, waiting for it a while: Slack threads
// must get a conversation's messages once and in order.
func lockFor(ctx context.Context, rdb redis.UniversalClient, key string) (func(), error) {
	token := core.NewID()
	deadline := time.Now().Add(mirrorLockWait)
	for {
		ok, err := rdb.SetNX(ctx, key, token, mirrorLockTTL).Result()
		if err != nil {
			return nil, err
		}
		if ok {
			return func() {
				// Release only our own lock.
				if v, err := rdb.Get(context.WithoutCancel(ctx), key).Result(); err == nil && v == token {
					rdb.Del(context.WithoutCancel(ctx), key)
				}
			}, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("queue: %s is held", key)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
