package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/bookinggw/gateway/core"
)

func validActivityCursor(s string) bool {
	_, _, ok := core.ParseActivityCursor(s)
	return ok
}

func (s *Server) conversationRoutes() {
	cv := func() *core.ConversationService { return s.d.Services.Conversations }
	s.handle(Route{Method: "GET", Path: "/conversations", Tag: "conversations", Summary: "messenger conversations of the caller's centres, latest activity first",
		Resp: core.Conversation{}, List: true,
		Query: []Param{{Name: "center_id", Type: "string"}, {Name: "assigned", Type: "string", Description: "me: assigned to the caller"},
			{Name: "unread", Type: "boolean", Description: "true: only those the caller has not read"},
			{Name: "status", Type: "string", Description: "open or closed"}}},
		func(c *gin.Context) {
			pg, ok := readPage(c, validActivityCursor)
			if !ok {
				return
			}
			p := principal(c)
			f := core.ConversationFilter{CenterID: c.Query("center_id"), Status: core.ConversationStatus(c.Query("status"))}
			switch c.Query("assigned") {
			case "":
			case "me":
				f.AssignedTo = p.StaffID
				if f.AssignedTo == "" {
					f.AssignedTo = "-" // a key of no staff member has nothing assigned
				}
			default:
				invalid(c, "bad filter", "assigned", "must be me")
				return
			}
			switch c.Query("unread") {
			case "", "false":
			case "true":
				f.UnreadFor = p.StaffID
			default:
				invalid(c, "bad filter", "unread", "must be true or false")
				return
			}
			if f.Status != "" && f.Status != core.ConversationOpen && f.Status != core.ConversationClosed {
				invalid(c, "bad filter", "status", "must be open or closed")
				return
			}
			l, err := cv().ListConversations(c.Request.Context(), p, f, pg)
			respondList(c, l, err, pg, core.ActivityCursor)
		})
	s.handle(Route{Method: "GET", Path: "/conversations/:id", Tag: "conversations", Summary: "one conversation", Resp: core.Conversation{}},
		func(c *gin.Context) {
			respond(c, http.StatusOK)(cv().GetConversation(c.Request.Context(), principal(c), c.Param("id")))
		})
	s.handle(Route{Method: "PATCH", Path: "/conversations/:id", Tag: "conversations", Summary: "assign, close or reopen a conversation",
		Req: core.ConversationUpdate{}, Resp: core.Conversation{}}, func(c *gin.Context) {
		var in core.ConversationUpdate
		if bindJSON(c, &in) {
			respond(c, http.StatusOK)(cv().UpdateConversation(c.Request.Context(), principal(c), c.Param("id"), in))
		}
	})
	s.handle(Route{Method: "POST", Path: "/conversations/:id/read", Tag: "conversations", Summary: "mark the conversation read by the caller",
		Resp: core.Conversation{}}, func(c *gin.Context) {
		respond(c, http.StatusOK)(cv().MarkRead(c.Request.Context(), principal(c), c.Param("id")))
	})
	s.handle(Route{Method: "GET", Path: "/conversations/:id/messages", Tag: "conversations",
		Summary: "a conversation's history, oldest first, with the delivery status of staff replies (the caller's visible history only)",
		Resp:    core.ChatMessage{}, List: true}, func(c *gin.Context) {
		if pg, ok := page(c); ok {
			l, err := cv().History(c.Request.Context(), principal(c), c.Param("id"), pg)
			respondList(c, l, err, pg, func(x core.ChatMessage) string { return x.ID })
		}
	})
	s.handle(Route{Method: "POST", Path: "/conversations/:id/messages", Tag: "conversations",
		Summary: "reply to the client on their channel through the outbox; a free-text WhatsApp reply after the 24-hour window is a 409 (send template_sid instead)",
		Req:     core.ReplyInput{}, Resp: core.ChatMessage{}, Status: http.StatusCreated}, func(c *gin.Context) {
		var in core.ReplyInput
		if bindJSON(c, &in) {
			respond(c, http.StatusCreated)(cv().Reply(c.Request.Context(), principal(c), c.Param("id"), in))
		}
	})
	s.handle(Route{Method: "GET", Path: "/centers/:id/chat-routes", Tag: "conversations", Summary: "a centre's Telegram bot and Slack channel",
		Resp: core.ChatRoutes{}}, func(c *gin.Context) {
		respond(c, http.StatusOK)(cv().GetChatRoutes(c.Request.Context(), principal(c), c.Param("id")))
	})
	s.handle(Route{Method: "PUT", Path: "/centers/:id/chat-routes", Tag: "conversations",
		Summary: "map a centre to a Telegram bot (its chats belong to the centre) and a Slack channel (its conversations are mirrored there); directors",
		Req:     core.ChatRoutes{}, Resp: core.ChatRoutes{}}, func(c *gin.Context) {
		var in core.ChatRoutes
		if bindJSON(c, &in) {
			respond(c, http.StatusOK)(cv().PutChatRoutes(c.Request.Context(), principal(c), c.Param("id"), in))
		}
	})
	s.handle(Route{Method: "GET", Path: "/chat-settings", Tag: "conversations", Summary: "the organization's chat setting", Resp: core.ChatSettings{}},
		func(c *gin.Context) {
			respond(c, http.StatusOK)(cv().GetChatSettings(c.Request.Context(), principal(c)))
		})
	s.handle(Route{Method: "PUT", Path: "/chat-settings", Tag: "conversations", Summary: "change the organization's chat setting; directors",
		Req: core.ChatSettings{}, Resp: core.ChatSettings{}}, func(c *gin.Context) {
		var in core.ChatSettings
		if bindJSON(c, &in) {
			respond(c, http.StatusOK)(cv().PutChatSettings(c.Request.Context(), principal(c), in))
		}
	})
	s.handle(Route{Method: "PUT", Path: "/staff/:id/chat-history", Tag: "conversations",
		Summary: "grant (or take back) a staff member the chat history from before their account existed; directors",
		Req:     core.HistoryGrant{}, Resp: core.HistoryGrant{}}, func(c *gin.Context) {
		var in core.HistoryGrant
		if bindJSON(c, &in) {
			respond(c, http.StatusOK)(cv().GrantHistory(c.Request.Context(), principal(c), c.Param("id"), in))
		}
	})
}
