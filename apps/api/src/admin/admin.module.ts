import { BullAdapter } from '@bull-board/api/bullAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { BullBoardModule, BullBoardInstance, InjectBullBoard } from '@bull-board/nestjs';
import { Module, OnModuleInit } from '@nestjs/common';
import { QueueInspector } from '../observability/queue-inspector';
import { ApiClients } from '../tenancy/api-clients.service';
import { TenancyModule } from '../tenancy/tenancy.module';
import { adminAuthMiddleware } from './admin-auth.middleware';

export const ADMIN_QUEUES_ROUTE = '/admin/queues';

/** Bull Board over every queue of the service, behind an admin's API key. */
@Module({
  imports: [
    BullBoardModule.forRootAsync({
      imports: [TenancyModule],
      inject: [ApiClients],
      useFactory: (clients: ApiClients) => ({
        route: ADMIN_QUEUES_ROUTE,
        adapter: ExpressAdapter,
        middleware: adminAuthMiddleware(clients),
        boardOptions: { uiConfig: { boardTitle: 'api-gpu queues' } },
      }),
    }),
  ],
})
export class AdminModule implements OnModuleInit {
  constructor(
    @InjectBullBoard() private readonly board: BullBoardInstance,
    private readonly inspector: QueueInspector,
  ) {}

  onModuleInit(): void {
    for (const queue of this.inspector.queues) this.board.addQueue(new BullAdapter(queue));
  }
}
