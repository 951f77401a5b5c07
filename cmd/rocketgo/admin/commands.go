package admin

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"

	sdkadmin "github.com/rocketgo/rocketgo/sdk/admin"
	"github.com/rocketgo/rocketgo/sdk/message"
	"github.com/rocketgo/rocketgo/sdk/wire"
)

func table(e *env) *tabwriter.Writer { return tabwriter.NewWriter(e.out, 0, 4, 2, ' ', 0) }

func clusterList(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	ci, err := e.a.ClusterInfo(ctx)
	if err != nil {
		return err
	}
	w := table(e)
	fmt.Fprintln(w, "CLUSTER\tBROKER\tID\tADDRESS")
	for _, cluster := range sortedKeys(ci.ClusterAddrTable) {
		for _, name := range ci.ClusterAddrTable[cluster] {
			bd := ci.BrokerAddrTable[name]
			for id, addr := range bd.BrokerAddrs {
				fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", cluster, name, id, addr)
			}
		}
	}
	return w.Flush()
}

func topicList(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	topics, err := e.a.Topics(ctx)
	if err != nil {
		return err
	}
	for _, t := range topics {
		fmt.Fprintln(e.out, t)
	}
	return nil
}

func topicRoute(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	topic := fs.String("t", "", "topic")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(*topic); err != nil {
		return err
	}
	r, err := e.a.TopicRoute(ctx, *topic)
	if err != nil {
		return err
	}
	w := table(e)
	fmt.Fprintln(w, "BROKER\tMASTER\tREAD\tWRITE\tPERM")
	for _, q := range r.Data.QueueDatas {
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\n", q.BrokerName, r.MasterAddr(q.BrokerName), q.ReadQueueNums, q.WriteQueueNums, q.Perm)
	}
	return w.Flush()
}

func updateTopic(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	topic := fs.String("t", "", "topic")
	r := fs.Int("r", 8, "read queues")
	wq := fs.Int("w", 8, "write queues")
	perm := fs.Int("p", 6, "permission: 6 read and write, 4 read, 2 write")
	cluster := fs.String("c", "", "cluster (default: every broker)")
	broker := fs.String("b", "", "one broker address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(*topic); err != nil {
		return err
	}
	cfg := sdkadmin.TopicConfig{Name: *topic, ReadQueueNums: *r, WriteQueueNums: *wq, Perm: *perm, Cluster: *cluster}
	if *broker != "" {
		cfg.BrokerAddrs = []string{*broker}
	}
	if err := e.a.CreateTopic(ctx, cfg); err != nil {
		return err
	}
	fmt.Fprintf(e.out, "topic %s: %d read, %d write queues, perm %d\n", *topic, *r, *wq, *perm)
	return nil
}

func deleteTopic(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	topic := fs.String("t", "", "topic")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(*topic); err != nil {
		return err
	}
	if err := e.a.DeleteTopic(ctx, *topic); err != nil {
		return err
	}
	fmt.Fprintf(e.out, "topic %s deleted\n", *topic)
	return nil
}

func consumerProgress(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	group := fs.String("g", "", "consumer group")
	topic := fs.String("t", "", "topic")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(*group, *topic); err != nil {
		return err
	}
	offs, err := e.a.ConsumerOffsets(ctx, *group, *topic)
	if err != nil {
		return err
	}
	w := table(e)
	fmt.Fprintln(w, "BROKER\tQUEUE\tCOMMITTED\tMAX\tLAG")
	var total int64
	for _, o := range offs {
		lag := o.Max - max(o.Committed, 0)
		total += lag
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\n", o.Queue.BrokerName, o.Queue.QueueID, o.Committed, o.Max, lag)
	}
	fmt.Fprintf(w, "\t\t\ttotal lag\t%d\n", total)
	return w.Flush()
}

func resetOffsetByTime(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	group := fs.String("g", "", "consumer group")
	topic := fs.String("t", "", "topic")
	at := fs.String("s", "", "time")
	force := fs.Bool("f", true, "move forward too, not only back")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(*group, *topic, *at); err != nil {
		return err
	}
	t, err := parseTime(*at)
	if err != nil {
		return err
	}
	offs, err := e.a.ResetOffsetByTime(ctx, *group, *topic, t, *force)
	if err != nil {
		return err
	}
	qs := make([]message.Queue, 0, len(offs))
	for q := range offs {
		qs = append(qs, q)
	}
	sortQueues(qs)
	w := table(e)
	fmt.Fprintln(w, "BROKER\tQUEUE\tOFFSET")
	for _, q := range qs {
		fmt.Fprintf(w, "%s\t%d\t%d\n", q.BrokerName, q.QueueID, offs[q])
	}
	return w.Flush()
}

func queryMsgByKey(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	topic := fs.String("t", "", "topic")
	key := fs.String("k", "", "key")
	n := fs.Int("n", 32, "most messages")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(*topic, *key); err != nil {
		return err
	}
	msgs, err := e.a.QueryMessageByKey(ctx, *topic, *key, *n)
	if err != nil {
		return err
	}
	printMessages(e, msgs)
	return nil
}

func queryMsgByID(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	id := fs.String("i", "", "offset message id")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(*id); err != nil {
		return err
	}
	m, err := e.a.ViewMessage(ctx, *id)
	if err != nil {
		return err
	}
	printMessages(e, []*message.Ext{m})
	return nil
}

func printMessages(e *env, msgs []*message.Ext) {
	w := table(e)
	fmt.Fprintln(w, "OFFSET_MSG_ID\tTOPIC\tQUEUE\tQUEUE_OFFSET\tSTORED\tTAGS\tKEYS\tBODY_BYTES")
	for _, m := range msgs {
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%s\t%s\t%v\t%d\n", m.OffsetMsgID, m.Topic, m.Queue.QueueID, m.QueueOffset,
			m.StoreTimestamp.UTC().Format("2006-01-02T15:04:05.000Z"), m.Tag, m.Keys, len(m.Body))
	}
	_ = w.Flush()
}

func timerList(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	broker := fs.String("b", "", "broker address")
	n := fs.Int("n", 100, "most timers")
	from := fs.String("s", "now", "list timers due at or after this time")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(*broker); err != nil {
		return err
	}
	t, err := parseTime(*from)
	if err != nil {
		return err
	}
	timers, err := e.a.Timers(ctx, *broker, t, *n)
	if err != nil {
		return err
	}
	w := table(e)
	fmt.Fprintln(w, "DUE\tOFFSET_MSG_ID\tTOPIC\tUNIQ_KEY")
	for _, tm := range timers {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", tm.Due.UTC().Format("2006-01-02T15:04:05.000Z"), tm.OffsetMsgID, tm.Topic, tm.UniqKey)
	}
	return w.Flush()
}

func timerCancel(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	id := fs.String("i", "", "offset message id of the timer message")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(*id); err != nil {
		return err
	}
	if _, _, err := wire.ParseOffsetMsgID(*id); err != nil {
		return err
	}
	if err := e.a.CancelTimer(ctx, *id); err != nil {
		return err
	}
	fmt.Fprintf(e.out, "timer %s cancelled\n", *id)
	return nil
}

func sortQueues(qs []message.Queue) {
	for i := 1; i < len(qs); i++ {
		for j := i; j > 0 && qs[j].Compare(qs[j-1]) < 0; j-- {
			qs[j], qs[j-1] = qs[j-1], qs[j]
		}
	}
}
