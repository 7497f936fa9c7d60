import { BullAdapter } from '@bull-board/api/bullAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { BullBoardModule, BullBoardInstance, InjectBullBoard } from '@bull-board/nestjs';
import { Module, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { QueueInspector } from '../observability/queue-inspector';
import { ApiKeys } from '../security/api-keys';
import { adminAuthMiddleware } from './admin-auth.middleware';

export const ADMIN_QUEUES_ROUTE = '/admin/queues';

/** Bull Board over every queue of the service, behind the API key. */
@Module({
  imports: [
    BullBoardModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService) => ({
        route: ADMIN_QUEUES_ROUTE,
        adapter: ExpressAdapter,
        middleware: adminAuthMiddleware(new ApiKeys(config.getOrThrow<string>('X_API_KEY'))),
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
